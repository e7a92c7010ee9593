/**
 * Images in the browser (issue 7, items 2, 3 and 6):
 *   - a photo larger than the resize limit, attached through the composer's file picker, is
 *     resized on the device, uploaded, shown in the thread, and reaches the provider in the
 *     OpenAI SDK's image format; pasted and dropped photos reach Mistral in its format;
 *   - wrong types and oversize files are refused before any upload, with a clear message;
 *     the server's 413/415 are explained; a model without vision gets a warning;
 *   - "Image" mode and `/image <prompt>` generate through the fake provider (b64_json and
 *     URL answers), shown with a placeholder meanwhile, then with a Download link whose
 *     bytes are a PNG; a server without an image provider explains itself.
 * Screenshots (390×844 and 1280×800) of the composer with attachments and of a generated
 * image land in tests/e2e/.artifacts/screens/.
 */
import { expect, test, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { makePng } from '../support/fake-provider/images';
import { assistant, signUpByApi, startChat, user, waitForReply, shoot, SIZES } from './helpers';

const FAKE = `http://127.0.0.1:${Number(process.env.E2E_FAKE_PORT ?? Number(process.env.E2E_PORT ?? 4321) + 1)}`;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A photo-sized PNG: 3000×2000, over the 2048 px resize limit. */
function bigPhoto(): Buffer {
  return Buffer.from(makePng(3000, 2000, [40, 120, 200]));
}

interface FakePart {
  type: string;
  image_url?: string | { url: string };
  image?: { declared: string; mime: string; bytes: number; width: number | null; height: number | null } | null;
}
interface FakeRequest {
  sdk: 'openai' | 'mistral';
  model: string;
  messages: { role: string; content: string | FakePart[] }[];
}

/** The chat requests the fake provider received whose last user message carries images. */
async function requestsWithImages(page: Page): Promise<FakeRequest[]> {
  const res = await page.request.get(`${FAKE}/__fake/chat/requests`);
  expect(res.ok()).toBe(true);
  const all = (await res.json()) as FakeRequest[];
  return all.filter((r) => {
    const last = [...r.messages].reverse().find((m) => m.role === 'user');
    return Array.isArray(last?.content) && last.content.some((p) => p.type === 'image_url');
  });
}

const imageParts = (r: FakeRequest) =>
  ([...r.messages].reverse().find((m) => m.role === 'user')!.content as FakePart[]).filter((p) => p.type === 'image_url');

async function attachThroughPicker(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[] | string) {
  await page.getByRole('button', { name: 'Add photos or create an image' }).click();
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach photos' }).click();
  await (await chooser).setFiles(files);
}

/** Puts files on the page as a paste into the message box, or a drop onto the thread. */
async function pasteOrDrop(page: Page, how: 'paste' | 'drop', name: string, bytes: Buffer, type = 'image/png') {
  // The page's `load` does not wait for the app: its code starts from a dynamic import (from
  // blob: modules on a first visit), so the message box may not be there yet after a reload.
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeVisible();
  await page.evaluate(
    ({ how, name, b64, type }) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name, { type }));
      if (how === 'paste') {
        document.getElementById('composer')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      } else {
        const target = document.querySelector('main')!;
        for (const kind of ['dragenter', 'dragover', 'drop']) {
          target.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
      }
    },
    { how, name, b64: bytes.toString('base64'), type },
  );
}

async function uploadsSettled(page: Page) {
  await expect(page.getByRole('progressbar')).toHaveCount(0, { timeout: 15_000 });
}

async function expectLoaded(page: Page, img: ReturnType<Page['locator']>) {
  await expect(img).toBeVisible();
  await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), { timeout: 10_000 }).toBe(true);
}

test('a large photo is resized on the device, uploaded, shown, and reaches OpenAI as an image_url part', async ({ page }) => {
  await signUpByApi(page);
  await startChat(page, 'Hello there');
  await waitForReply(page);

  const uploads: number[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/files') && r.method() === 'POST') uploads.push(r.postDataBuffer()?.byteLength ?? 0);
  });
  await attachThroughPicker(page, [{ name: 'harbour.png', mimeType: 'image/png', buffer: bigPhoto() }]);
  // Resized and re-encoded on the device: a JPEG under the original name.
  await expect(page.getByRole('img', { name: 'Attached: harbour.jpg' })).toBeVisible();
  await uploadsSettled(page);
  expect(uploads).toHaveLength(1);

  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('What is in this photo?');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('img', { name: 'Attached: harbour.jpg' })).toHaveCount(0);
  await expect(assistant(page)).toHaveCount(2);
  await waitForReply(page);
  await expect(assistant(page).last()).toContainText('Echo: What is in this photo? (with 1 image)');

  const shown = user(page).last().getByRole('img', { name: 'Image: harbour.jpg' });
  await expectLoaded(page, shown);
  await expect(shown).toHaveAttribute('loading', 'lazy');

  const [sent] = (await requestsWithImages(page)).filter((r) => r.messages.some((m) => JSON.stringify(m.content).includes('What is in this photo?')));
  expect(sent?.sdk).toBe('openai');
  const [part] = imageParts(sent!);
  // OpenAI's shape: {type: 'image_url', image_url: {url: 'data:image/jpeg;base64,…'}}.
  expect(typeof part!.image_url).toBe('object');
  expect((part!.image_url as { url: string }).url).toMatch(/^data:image\/jpeg;base64,/);
  expect(part!.image).toMatchObject({ declared: 'image/jpeg', mime: 'image/jpeg', width: 2048, height: 1365 });

  // Large view and the message survive a reload (served from the server, not the preview).
  await page.reload();
  await user(page).last().getByRole('button', { name: 'View image: Image: harbour.jpg' }).click();
  const viewer = page.getByRole('dialog', { name: 'Image: harbour.jpg' });
  await expect(viewer.getByRole('link', { name: 'Download' })).toHaveAttribute('href', /\/api\/files\/[0-9a-f-]{36}\?download=1$/);
  await page.keyboard.press('Escape');
  await expect(viewer).toBeHidden();
});

test('a new chat can start with a photo, or with an image prompt', async ({ page }) => {
  await signUpByApi(page);
  await page.goto('/?new=1');
  await attachThroughPicker(page, [{ name: 'first.png', mimeType: 'image/png', buffer: Buffer.from(makePng(64, 48, [200, 60, 40])) }]);
  await expect(page.getByRole('img', { name: 'Attached: first.png' })).toBeVisible();
  await uploadsSettled(page);
  await page.getByRole('textbox', { name: 'Message' }).fill('Describe my first photo');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page).toHaveURL(/\/t\/[0-9a-f-]{36}$/);
  await waitForReply(page);
  await expect(assistant(page).last()).toContainText('Echo: Describe my first photo (with 1 image)');
  await expectLoaded(page, user(page).last().getByRole('img', { name: 'Image: first.png' }));

  await page.goto('/?new=1');
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('/image a paper boat on a pond');
  await composer.press('Enter');
  await expect(page).toHaveURL(/\/t\/[0-9a-f-]{36}$/);
  await expectLoaded(page, assistant(page).last().getByRole('img', { name: 'a paper boat on a pond' }));
});

test('pasted and dropped photos reach Mistral in its own format', async ({ page }) => {
  await signUpByApi(page);
  const threadId = await startChat(page, 'Start');
  await waitForReply(page);
  const patched = await page.request.patch(`/api/threads/${threadId}`, { data: { model: 'mistral:mistral-small-latest' } });
  expect(patched.ok()).toBe(true);
  await page.reload();

  await pasteOrDrop(page, 'paste', 'pasted.png', Buffer.from(makePng(640, 480, [10, 180, 90])));
  await expect(page.getByRole('img', { name: 'Attached: pasted.png' })).toBeVisible();
  await pasteOrDrop(page, 'drop', 'dropped.png', Buffer.from(makePng(300, 300, [220, 120, 10])));
  await expect(page.getByRole('img', { name: 'Attached: dropped.png' })).toBeVisible();
  await uploadsSettled(page);
  // Pasting images does not paste their name as text.
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');

  // Images alone are a message.
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(assistant(page)).toHaveCount(2);
  await waitForReply(page);
  await expect(assistant(page).last()).toContainText('(with 2 images)');
  await expect(user(page).last().getByRole('img')).toHaveCount(2);

  const sent = (await requestsWithImages(page)).filter((r) => r.sdk === 'mistral' && imageParts(r).length === 2).at(-1);
  expect(sent, 'a Mistral request with two images').toBeTruthy();
  for (const part of imageParts(sent!)) {
    // Mistral's shape: {type: 'image_url', image_url: 'data:…'} (a string).
    expect(typeof part.image_url).toBe('string');
    expect(part.image_url as string).toMatch(/^data:image\/png;base64,/);
    expect(part.image?.mime).toBe('image/png');
  }
});

test('wrong types and oversize files are refused before upload; 413/415 are explained; no vision warns', async ({ page }) => {
  await signUpByApi(page);
  const threadId = await startChat(page, 'Refusals');
  await waitForReply(page);
  const uploads: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/files') && r.method() === 'POST') uploads.push(r.url());
  });
  const alert = page.locator('.composer [role="alert"]');

  // (Text files are documents now: documents.spec.ts.)
  await attachThroughPicker(page, [{ name: 'clip.mp4', mimeType: 'video/mp4', buffer: Buffer.from('not really a video') }]);
  await expect(alert).toContainText('“clip.mp4” cannot be attached. Attach images (PNG, JPEG, WebP, GIF) or documents');
  await attachThroughPicker(page, [{ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>') }]);
  await expect(alert).toContainText('“logo.svg” cannot be attached');
  // (Playwright hands over buffers up to 50 MB only: this one goes as a file.)
  const huge = test.info().outputPath('huge.jpg');
  writeFileSync(huge, Buffer.alloc(51 * 1024 * 1024, 1));
  await attachThroughPicker(page, huge);
  await expect(alert).toContainText('“huge.jpg” is too large (51 MB). Pick an image under 50 MB.');
  // Claims to be a PNG, is HTML: it cannot be decoded, so it is never sent.
  await attachThroughPicker(page, [{ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('<html><script>alert(1)</script></html>') }]);
  await expect(alert).toContainText('“fake.png” could not be read as an image');
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
  await page.getByRole('button', { name: 'Remove fake.png' }).click();
  expect(uploads).toEqual([]);

  // The server's refusals, as it words them, become plain sentences.
  for (const [status, code, expected] of [
    [413, 'too_large', '“small.png” is too large for the server (10 MB for images, 20 MB for documents).'],
    [415, 'unsupported_media_type', '“small.png” is not a file the server accepts: refused'],
  ] as const) {
    await page.route('**/api/files', (route) =>
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify({ error: { code, message: 'refused' } }) }),
    );
    await attachThroughPicker(page, [{ name: 'small.png', mimeType: 'image/png', buffer: Buffer.from(makePng(20, 20)) }]);
    await expect(alert).toContainText(expected);
    await page.getByRole('textbox', { name: 'Message' }).fill('with a failed image');
    await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
    await page.getByRole('button', { name: 'Remove small.png' }).click();
    await expect(alert).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
    await page.unroute('**/api/files');
  }
  await page.getByRole('textbox', { name: 'Message' }).fill('');

  // A model that cannot see images: a warning, not a block.
  await page.request.patch(`/api/threads/${threadId}`, { data: { model: 'openai:gpt-3.5-turbo' } });
  await page.reload();
  await attachThroughPicker(page, [{ name: 'chart.png', mimeType: 'image/png', buffer: Buffer.from(makePng(200, 100)) }]);
  await expect(page.getByText('cannot see images: it may ignore them or refuse')).toBeVisible();
  await uploadsSettled(page);
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
});

test('Image mode and /image generate through the provider (b64_json and URL), shown with a PNG download', async ({ page }) => {
  await signUpByApi(page);
  const threadId = await startChat(page, 'Let us make pictures');
  await waitForReply(page);

  // Hold the request until the placeholder has been seen, then let it through.
  let release!: () => void;
  const seen = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/images', async (route) => {
    await seen;
    await route.continue();
  });
  await page.getByRole('button', { name: 'Add photos or create an image' }).click();
  await page.getByRole('button', { name: 'Create an image', exact: true }).click();
  await expect(page.locator('.composer .chip')).toHaveText('Image');
  const composer = page.getByRole('textbox', { name: 'Message' });
  await expect(composer).toHaveAttribute('placeholder', 'Describe an image…');
  await composer.fill('a red lighthouse at dusk');
  await composer.press('Enter');
  await expect(page.getByRole('status', { name: 'Creating image' })).toBeVisible();
  release();
  const image = assistant(page).last().getByRole('img', { name: 'a red lighthouse at dusk' });
  await expectLoaded(page, image);
  await expect(page.getByRole('status', { name: 'Creating image' })).toHaveCount(0);
  await page.unroute('**/api/images');

  const download = assistant(page).last().getByRole('link', { name: /Download/ });
  const href = await download.getAttribute('href');
  expect(href).toMatch(/^\/api\/files\/[0-9a-f-]{36}\?download=1$/);
  const res = await page.request.get(href!);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toBe('image/png');
  expect(res.headers()['content-disposition']).toMatch(/^attachment/);
  expect([...(await res.body()).subarray(0, 8)]).toEqual(PNG_SIGNATURE);

  // The command, from normal mode, with the provider answering a URL the server downloads.
  await page.locator('.composer').getByRole('button', { name: 'Leave image mode' }).click();
  expect((await page.request.post(`${FAKE}/__fake/images/mode`, { data: { mode: 'url' } })).status()).toBe(204);
  try {
    await composer.fill('/image a blue whale, watercolour');
    await composer.press('Enter');
    await expectLoaded(page, assistant(page).last().getByRole('img', { name: 'a blue whale, watercolour' }));
    const state = await (await page.request.get(`${FAKE}/__fake/images/state`)).json();
    expect(state.prompts).toContain('a blue whale, watercolour');
    expect(state.downloads.some((d: string) => d.startsWith('/files/'))).toBe(true);
  } finally {
    await page.request.post(`${FAKE}/__fake/images/mode`, { data: { mode: 'b64_json' } });
  }

  // Stored: both images are in the thread after a reload, and through the API.
  await page.reload();
  await expect(assistant(page).getByRole('link', { name: /Download/ })).toHaveCount(2);
  const messages = (await (await page.request.get(`/api/threads/${threadId}/messages`)).json()).messages;
  const generated = messages.filter((m: { role: string; attachments: unknown[] }) => m.role === 'assistant' && m.attachments.length);
  expect(generated.map((m: { content: string }) => m.content)).toEqual(['a red lighthouse at dusk', 'a blue whale, watercolour']);
});

test('a server without an image provider says so plainly and keeps the prompt', async ({ page }) => {
  await signUpByApi(page);
  await startChat(page, 'No images here');
  await waitForReply(page);
  await page.route('**/api/images', (route) =>
    route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'images_disabled', message: 'Image generation is not configured' } }),
    }),
  );
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('/image a cat');
  await composer.press('Enter');
  await expect(page.getByRole('alert')).toContainText('This server cannot make images: no image provider is set up.');
  await expect(composer).toHaveValue('/image a cat');
  await expect(assistant(page)).toHaveCount(1);
});

for (const size of SIZES) {
  test(`screenshots at ${size.name}: composer with photos, a generated image`, async ({ page }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await signUpByApi(page);
    await startChat(page, 'Show me what you can do with pictures');
    await waitForReply(page);
    await page.getByRole('button', { name: 'Add photos or create an image' }).click();
    await shoot(page, `composer-menu-${size.name}`);
    await page.getByRole('button', { name: 'Create an image', exact: true }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('a lighthouse on a cliff');
    await shoot(page, `composer-image-mode-${size.name}`);

    // Held for a moment, so the placeholder can be seen.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/images', async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await expect(page.getByRole('status', { name: 'Creating image' })).toBeVisible();
    await shoot(page, `image-pending-${size.name}`);
    release();
    await expectLoaded(page, assistant(page).last().getByRole('img', { name: 'a lighthouse on a cliff' }));
    await page.unroute('**/api/images');
    await page.locator('.composer').getByRole('button', { name: 'Leave image mode' }).click();
    await shoot(page, `generated-image-${size.name}`);

    await assistant(page).last().getByRole('button', { name: 'View image: a lighthouse on a cliff' }).click();
    await expect(page.getByRole('dialog', { name: 'a lighthouse on a cliff' })).toBeVisible();
    await shoot(page, `image-viewer-${size.name}`);
    await page.keyboard.press('Escape');

    await attachThroughPicker(page, [
      { name: 'beach.png', mimeType: 'image/png', buffer: Buffer.from(makePng(800, 600, [230, 190, 90])) },
      { name: 'forest.png', mimeType: 'image/png', buffer: Buffer.from(makePng(600, 800, [40, 140, 70])) },
    ]);
    await uploadsSettled(page);
    await page.getByRole('textbox', { name: 'Message' }).fill('Which of these two would make a better poster?');
    await shoot(page, `composer-attachments-${size.name}`);

    await page.getByRole('button', { name: 'Send' }).click();
    await expect(assistant(page)).toHaveCount(3);
    await waitForReply(page);
    await shoot(page, `thread-images-${size.name}`);
  });
}

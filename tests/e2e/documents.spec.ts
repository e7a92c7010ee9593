/**
 * Documents in the browser (issue 16, deliverable 5): a PDF attached through the composer's
 * picker shows as a chip (name, size, pages, "text read"), is sent, and the model's answer
 * uses its text (the fake echoes what it was given: the document's text is in it); the sent
 * message shows the document as a download, also after a reload. A scanned PDF (no text
 * layer) is read through OCR (the stack's Mistral account is the fake, which speaks
 * POST /v1/ocr); a hostile DOCX says why it could not be read.
 * Screenshots at phone and desktop sizes, light and dark, land in tests/e2e/.artifacts/screens/.
 */
import { expect, test, type Page } from '@playwright/test';
import { makePdf, makeZipBomb } from '../support/documents';
import { ADMIN, assistant, shoot, signUpByApi, startChat, user, waitForReply, SIZES } from './helpers';

const PORT = Number(process.env.E2E_PORT ?? 4321);

async function attach(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.getByRole('button', { name: 'Add photos or create an image' }).click();
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach photos or files' }).click();
  await (await chooser).setFiles(files);
  await expect(page.getByRole('progressbar')).toHaveCount(0, { timeout: 20_000 });
}

const secretPdf = () => Buffer.from(makePdf(2, 2, (p, i) => (p === 2 && i === 2 ? 'The secret word is pelican.' : `Page ${p} line ${i} of the report.`)));

test("a PDF attached in the composer is read, sent, and the model's answer uses its text", async ({ page }) => {
  await signUpByApi(page);
  await startChat(page, 'Hello there');
  await waitForReply(page);

  await attach(page, [{ name: 'report.pdf', mimeType: 'application/pdf', buffer: secretPdf() }]);
  const tray = page.getByRole('list', { name: 'Attached files' });
  await expect(tray.getByRole('listitem')).toContainText('report.pdf');
  await expect(tray.getByRole('listitem')).toContainText(/B · 2 pages · text read/);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await shoot(page, `documents-composer-${size.name}`);
  }

  await page.getByRole('textbox', { name: 'Message' }).fill('What is the secret word?');
  await page.getByRole('button', { name: 'Send' }).click();
  await waitForReply(page);
  // The fake model echoes what it was given: the question and the document's text.
  await expect(assistant(page).last()).toContainText('What is the secret word?');
  await expect(assistant(page).last()).toContainText('The secret word is pelican.');

  const sent = user(page).last().getByRole('list', { name: 'Attached documents' });
  const link = sent.getByRole('link', { name: /report\.pdf/ });
  await expect(link).toHaveAttribute('href', /\/api\/files\/[0-9a-f-]{36}\?download=1$/);
  await expect(sent).toContainText('2 pages · text read');
  const download = await page.request.get((await link.getAttribute('href'))!);
  expect(download.headers()['content-disposition']).toContain('attachment; filename="report.pdf"');
  expect((await download.body()).subarray(0, 5).toString()).toBe('%PDF-');

  await page.reload();
  await expect(user(page).last().getByRole('link', { name: /report\.pdf/ })).toBeVisible();
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await shoot(page, `documents-thread-${size.name}`);
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize(SIZES[0]);
  await shoot(page, 'documents-thread-phone-dark');
});

test('a scanned PDF goes through OCR; a zip bomb says why it was not read; a pasted Markdown file is read', async ({ page }) => {
  await signUpByApi(page);
  await startChat(page, 'Hi');
  await waitForReply(page);

  await attach(page, [
    { name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from(makePdf(1, 0)) },
    { name: 'bomb.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', buffer: Buffer.from(makeZipBomb()) },
  ]);
  // A pasted Markdown file is a document too (a drop goes through the same path).
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['# Pasted notes\n\nBring the umbrella.'], 'notes.md', { type: 'text/markdown' }));
    document.getElementById('composer')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
  });
  await expect(page.getByRole('progressbar')).toHaveCount(0, { timeout: 20_000 });
  const items = page.getByRole('list', { name: 'Attached files' }).getByRole('listitem');
  await expect(items.filter({ hasText: 'notes.md' })).toContainText('B · text read');
  await expect(items.filter({ hasText: 'scan.pdf' })).toContainText('1 page · text read');
  await expect(items.filter({ hasText: 'bomb.docx' })).toContainText('zip bomb');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize(SIZES[1]);
  await shoot(page, 'documents-composer-desktop-dark');

  await page.getByRole('textbox', { name: 'Message' }).fill('Read these');
  await page.getByRole('button', { name: 'Send' }).click();
  await waitForReply(page);
  await expect(assistant(page).last()).toContainText('Scanned text of a');
  await expect(assistant(page).last()).toContainText('bomb.docx');
  await expect(assistant(page).last()).toContainText('Bring the umbrella.');
});

test("a document larger than the model's context is trimmed, and the thread says so (after a reload too)", async ({ page, playwright }) => {
  // A connection to the stack's fake whose gpt-4o-mini the admin says has 100 tokens of context.
  const admin = await playwright.request.newContext();
  const base = `http://127.0.0.1:${PORT}`;
  expect((await admin.post(`${base}/api/auth/login`, { data: ADMIN })).status()).toBe(200);
  const created = await admin.post(`${base}/api/admin/connections`, {
    data: { name: 'Tiny context', kind: 'openai', baseUrl: `http://127.0.0.1:${PORT + 1}/v1`, purposes: ['chat'], overrides: { 'gpt-4o-mini': { contextLength: 100 } } },
  });
  expect(created.status()).toBe(201);
  const { connection } = (await created.json()) as { connection: { id: string; slug: string } };
  try {
    await signUpByApi(page);
    const threadId = await startChat(page, 'Hello');
    await waitForReply(page);
    const patched = await page.request.patch(`/api/threads/${threadId}`, { data: { model: `${connection.slug}:gpt-4o-mini` } });
    expect(patched.status()).toBe(200);
    await page.reload();
    const long = Array.from({ length: 60 }, (_, i) => `Line ${i + 1} of a long document about tides and harbours.`).join('\n');
    await attach(page, [{ name: 'long.txt', mimeType: 'text/plain', buffer: Buffer.from(long) }]);
    await page.getByRole('textbox', { name: 'Message' }).fill('Summarise');
    await page.getByRole('button', { name: 'Send' }).click();
    await waitForReply(page);
    const note = /Only the first \d+% of long\.txt fits in the model's context; the rest was left out\./;
    await expect(user(page).last().getByRole('list', { name: 'Attached documents' })).toContainText(note);
    // The model was told too, and got only the first lines.
    await expect(assistant(page).last()).toContainText(note);
    await expect(assistant(page).last()).toContainText('Line 1 of a long document');
    await expect(assistant(page).last()).not.toContainText('Line 60 of');
    await page.reload();
    await expect(user(page).last().getByRole('list', { name: 'Attached documents' })).toContainText(note);
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await shoot(page, `documents-trimmed-${size.name}`);
    }
  } finally {
    await (await admin.delete(`${base}/api/admin/connections/${connection.id}`)).body();
    await admin.dispose();
  }
});

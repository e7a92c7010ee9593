import { expect, test, type Page } from '@playwright/test';
import { assistant, signUpByApi, startChat, user, waitForReply } from './helpers';

test.beforeEach(async ({ page }) => {
  await signUpByApi(page);
});

/** Records the last assistant message's text length every few ms, in the page. */
async function recordLengths(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { __lengths: number[] };
    w.__lengths = [];
    setInterval(() => {
      const all = document.querySelectorAll('[data-role="assistant"]');
      const last = all[all.length - 1];
      if (last) w.__lengths.push((last.textContent ?? '').length);
    }, 25);
  });
}

test('new chat: the reply streams in progressively, then the thread is listed and titled', async ({ page }) => {
  await page.goto('/?new=1');
  await recordLengths(page);
  const text = 'Please repeat these words back to me slowly: alpha beta gamma delta epsilon zeta eta theta iota kappa';
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  await expect(user(page)).toHaveText(text);
  await expect(assistant(page)).toHaveAttribute('data-status', 'streaming');
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await waitForReply(page);
  await expect(assistant(page)).toHaveAttribute('data-status', 'complete');
  await expect(assistant(page)).toContainText(`Echo: ${text}`);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

  const lengths = await page.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths);
  const partial = new Set(lengths.filter((n) => n > 0 && n < Math.max(...lengths)));
  expect(partial.size, `distinct partial lengths seen: ${[...partial].join(',')}`).toBeGreaterThanOrEqual(3);

  // Listed in the sidebar, titled by the server after the first reply.
  const nav = page.getByRole('navigation', { name: 'Threads' });
  await expect(nav.getByRole('link', { name: /Please repeat these words/ })).toBeVisible();
  await expect(page.locator('header h1')).toHaveText(/Please repeat these words/);
});

test('Stop keeps the partial reply, marked stopped; Esc stops too', async ({ page }) => {
  await startChat(page, 'Tell me everything #slow');
  await expect(assistant(page)).toContainText('word3');
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(assistant(page)).toHaveAttribute('data-status', 'cancelled');
  await expect(assistant(page)).toContainText('Stopped');
  await expect(assistant(page)).not.toContainText('word80');
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

  await page.getByRole('textbox', { name: 'Message' }).fill('And again #slow');
  await page.keyboard.press('Enter');
  await expect(assistant(page).last()).toContainText('word2');
  await page.locator('body').click({ position: { x: 640, y: 300 } });
  await page.keyboard.press('Escape');
  await expect(assistant(page).last()).toHaveAttribute('data-status', 'cancelled');

  // Reloading shows what the server kept.
  await page.reload();
  await expect(assistant(page)).toHaveCount(2);
  await expect(assistant(page).first()).toHaveAttribute('data-status', 'cancelled');
});

test('Regenerate adds a sibling reply with a 2 / 2 switcher', async ({ page }) => {
  await startChat(page, 'Say hello');
  await waitForReply(page);
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await expect(assistant(page)).toHaveCount(1);
  await waitForReply(page);
  const reply = assistant(page);
  await expect(reply.getByText('2 / 2')).toBeVisible();
  await reply.getByRole('button', { name: 'Previous version' }).click();
  await expect(reply.getByText('1 / 2')).toBeVisible();
  await expect(reply).toContainText('Echo: Say hello');
  await reply.getByRole('button', { name: 'Next version' }).click();
  await expect(reply.getByText('2 / 2')).toBeVisible();

  // The choice of versions survives a reload (latest shown by default).
  await page.reload();
  await expect(assistant(page).getByText('2 / 2')).toBeVisible();
});

test('Edit an earlier message into a branch and switch between branches', async ({ page }) => {
  await startChat(page, 'First question');
  await waitForReply(page);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('Second question');
  await composer.press('Enter');
  await expect(assistant(page)).toHaveCount(2);
  await waitForReply(page);
  await composer.fill('Third question');
  await composer.press('Enter');
  await expect(assistant(page)).toHaveCount(3);
  await waitForReply(page);

  const second = user(page).nth(1);
  await second.hover();
  await second.getByRole('button', { name: 'Edit message' }).click();
  const editor = page.getByRole('textbox', { name: 'Edit message' });
  await editor.fill('Second question, rephrased');
  await editor.press('Enter');

  await expect(user(page)).toHaveCount(2);
  await expect(user(page).nth(1)).toContainText('Second question, rephrased');
  await waitForReply(page);
  await expect(assistant(page).nth(1)).toContainText('Echo: Second question, rephrased');
  await expect(user(page).nth(1).getByText('2 / 2')).toBeVisible();

  await user(page).nth(1).getByRole('button', { name: 'Previous version' }).click();
  await expect(user(page).nth(1)).toContainText('Second question');
  await expect(user(page).nth(1).getByText('1 / 2')).toBeVisible();
  // The old branch comes back whole, with its later turns.
  await expect(user(page)).toHaveCount(3);
  await expect(user(page).nth(2)).toContainText('Third question');
});

test('Edit the first message: a new root branch', async ({ page }) => {
  await startChat(page, 'Original opening');
  await waitForReply(page);
  const first = user(page).first();
  await first.hover();
  await first.getByRole('button', { name: 'Edit message' }).click();
  const editor = page.getByRole('textbox', { name: 'Edit message' });
  await editor.fill('Better opening');
  await page.getByRole('button', { name: 'Save and send' }).click();
  await expect(user(page)).toHaveCount(1);
  await expect(user(page)).toContainText('Better opening');
  await waitForReply(page);
  await expect(assistant(page)).toContainText('Echo: Better opening');
  await expect(user(page).first().getByText('2 / 2')).toBeVisible();
  await user(page).first().getByRole('button', { name: 'Previous version' }).click();
  await expect(user(page)).toHaveCount(1);
  await expect(user(page)).toContainText('Original opening');
  await expect(assistant(page)).toContainText('Echo: Original opening');
});

test('offline: the banner shows, a message written meanwhile waits and is sent once when the network returns', async ({ page, context }) => {
  await startChat(page, 'Before the tunnel');
  await waitForReply(page);
  await context.setOffline(true);
  try {
    await expect(page.getByRole('status').filter({ hasText: 'Offline' })).toBeVisible();
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Inside the tunnel');
    await composer.press('Enter');
    const waiting = page.locator('[data-role="user"][data-status="queued"]');
    await expect(waiting).toContainText('Inside the tunnel');
    await expect(waiting).toContainText('Waiting to send');
    await expect(composer).toHaveValue('');
  } finally {
    await context.setOffline(false);
  }
  await expect(page.getByRole('status').filter({ hasText: 'Offline' })).toHaveCount(0);
  await expect(assistant(page).last()).toContainText('Echo: Inside the tunnel');
  await expect(user(page).filter({ hasText: 'Inside the tunnel' })).toHaveCount(1);
  await expect(page.locator('[data-status="queued"]')).toHaveCount(0);
});

test('Markdown: code block with copy button and lazy highlighting, table, list', async ({ page }) => {
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(r.url());
  });
  await startChat(page, 'Show me code #code');
  await waitForReply(page);
  const reply = assistant(page);
  await expect(reply.locator('pre code')).toContainText('export function greet');
  await expect(reply.locator('pre code .hljs-keyword').first()).toBeVisible();
  await expect(reply.locator('table')).toBeVisible();
  await expect(reply.locator('li')).toHaveCount(2);
  await expect(reply.getByRole('button', { name: 'Copy code' })).toBeVisible();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await reply.getByRole('button', { name: 'Copy code' }).click();
  await expect(reply.getByRole('button', { name: 'Copy code' })).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('export function greet');
});

test('a provider error shows in the message with Retry, which brings a reply', async ({ page }) => {
  await startChat(page, 'This will break #fail');
  await expect(assistant(page)).toHaveAttribute('data-status', 'error', { timeout: 20_000 });
  const alert = assistant(page).getByRole('alert');
  await expect(alert).toContainText(/overloaded|failed|error/i);
  await alert.getByRole('button', { name: 'Retry' }).click();
  await waitForReply(page);
  await expect(assistant(page)).toHaveAttribute('data-status', 'complete');
  await expect(assistant(page)).toContainText('Echo: This will break');
});

test('composer: Shift+Enter adds a line, drafts are kept per thread, / and Ctrl+Shift+O', async ({ page }) => {
  const first = await startChat(page, 'Thread one');
  await waitForReply(page);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('line one');
  await composer.press('Shift+Enter');
  await composer.pressSequentially('line two');
  await expect(composer).toHaveValue('line one\nline two');
  const height = (await composer.boundingBox())!.height;
  await composer.press('Shift+Enter');
  await composer.pressSequentially('line three');
  expect((await composer.boundingBox())!.height).toBeGreaterThan(height);

  // A new chat from the keyboard; its composer is empty.
  await page.keyboard.press('Control+Shift+O');
  await expect(page).toHaveURL(/\/\?new=1$/);
  await expect(composer).toBeFocused();
  await expect(composer).toHaveValue('');
  await page.getByRole('navigation', { name: 'Threads' }).getByRole('link', { name: /Thread one/ }).click();
  await expect(page).toHaveURL(new RegExp(`/t/${first}$`));
  await expect(composer).toHaveValue('line one\nline two\nline three');

  // `/` focuses the composer from anywhere that isn't a text field.
  await page.locator('header h1').click();
  await expect(composer).not.toBeFocused();
  await page.keyboard.press('/');
  await expect(composer).toBeFocused();
});

test('auto-scroll follows the reply until the user scrolls up', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 640 });
  await startChat(page, 'A long one please #slow');
  const scroller = page.locator('.scroller');
  await expect(assistant(page)).toContainText('word30', { timeout: 15_000 });
  const gap = () => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
  expect(await gap()).toBeLessThan(40);
  await scroller.hover();
  await page.mouse.wheel(0, -400);
  await expect(page.getByRole('button', { name: 'Scroll to latest message' })).toBeVisible();
  const top = await scroller.evaluate((el) => el.scrollTop);
  await expect(assistant(page)).toContainText('word45', { timeout: 15_000 });
  expect(await scroller.evaluate((el) => el.scrollTop)).toBe(top);
  await page.getByRole('button', { name: 'Scroll to latest message' }).click();
  await expect.poll(gap).toBeLessThan(40);
  await page.getByRole('button', { name: 'Stop' }).click();
});

/**
 * A new chat started without a network (issue 18, defect 10): the thread gets an id made on
 * the device, shows in the list at once marked "Waiting to send", its first message waits in
 * the outbox, both survive a reload, and when the network returns the thread is created once
 * (POST /api/threads with that id: idempotent, so two open tabs never make two) and the
 * message is delivered once, its reply streaming in.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { eventually } from '../support/eventually';
import { assistant, installed, settled, shoot, signUpByApi, user, waitForReply, closeAppAndGoOnline } from './helpers';

test.use({ serviceWorkers: 'allow', viewport: { width: 390, height: 844 } });

const TEXT = 'Where should we eat tonight near the harbour';
const threadLinks = (page: Page) => page.getByRole('navigation', { name: 'Threads' }).getByRole('link');
const queued = (page: Page) => page.locator('[data-role="user"][data-status="queued"]');
const offlineBanner = (page: Page) => page.getByRole('status').filter({ hasText: 'Offline' });

/** On a phone the thread list is a drawer: opened when closed. */
/** A new account on an installed app, offline: "New chat", `text` typed and sent. */
async function sendNewChatOffline(page: Page, context: BrowserContext, text: string) {
  await signUpByApi(page);
  await page.goto('/');
  await installed(page);
  await context.setOffline(true);
  await page.goto('/?new=1');
  await expect(offlineBanner(page)).toBeVisible();
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

async function openDrawer(page: Page) {
  const button = page.getByRole('button', { name: 'Open threads' });
  if (!(await button.isVisible())) return; // desktop: the list is always there
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
  await settled(page);
}

async function closeDrawer(page: Page) {
  const button = page.getByRole('button', { name: 'Open threads' });
  if ((await button.isVisible()) && (await button.getAttribute('aria-expanded')) === 'true') {
    await page.keyboard.press('Escape');
    await settled(page);
  }
}

/** The waiting chat, as the list and the thread show it. */
async function expectWaiting(page: Page, threadId: string) {
  await expect(queued(page)).toHaveCount(1);
  await expect(queued(page)).toContainText(TEXT);
  await expect(queued(page)).toContainText('Waiting to send');
  await openDrawer(page);
  const link = threadLinks(page).filter({ hasText: TEXT });
  await expect(link).toHaveCount(1);
  await expect(link).toHaveAttribute('href', `/t/${threadId}`);
  await expect(link.locator('[data-waiting]')).toHaveCount(1);
  await expect(link).toContainText('Waiting to send');
  await closeDrawer(page);
}

test('a new chat started offline waits like a message, survives a reload, and is created and sent exactly once', async ({ page, context }) => {
  test.setTimeout(90_000);
  await sendNewChatOffline(page, context, TEXT);

  // The chat opens at once under an id made here; nothing reached the server.
  await expect(page).toHaveURL(/\/t\/[0-9a-f-]{36}$/);
  const threadId = new URL(page.url()).pathname.split('/').pop()!;
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expectWaiting(page, threadId);
  await expect(offlineBanner(page)).toContainText('1 message waiting to send');

  // Screenshots of the waiting chat: the thread on a phone, the list in the drawer, and the desktop.
  await shoot(page, 'offline-new-chat-phone');
  await openDrawer(page);
  await shoot(page, 'offline-new-chat-phone-list');
  await closeDrawer(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await shoot(page, 'offline-new-chat-desktop');
  await page.setViewportSize({ width: 390, height: 844 });

  // A reload without a network keeps both: the thread in the list, the message in the outbox.
  await page.reload();
  await expect(offlineBanner(page)).toBeVisible();
  await expectWaiting(page, threadId);

  // A second tab is open when the network returns: both flush, one thread is made.
  const second = await context.newPage();
  await second.goto(`/t/${threadId}`);
  await expect(queued(second)).toHaveCount(1);

  await context.setOffline(false);
  await expect(assistant(page).filter({ hasText: `Echo: ${TEXT}` })).toHaveCount(1, { timeout: 20_000 });
  await waitForReply(page);
  await expect(queued(page)).toHaveCount(0);
  await expect(user(page).filter({ hasText: TEXT })).toHaveCount(1);

  const serverThreads = async () => (await (await page.request.get('/api/threads')).json()).threads as { id: string; title: string }[];
  const threads = await eventually(
    async () => {
      const list = await serverThreads();
      expect(list.map((t) => t.id)).toEqual([threadId]);
      return list;
    },
    { timeout: 10_000, message: 'exactly the one thread on the server' },
  );
  expect(threads[0]!.title).not.toBe('');
  const messages = (await (await page.request.get(`/api/threads/${threadId}/messages`)).json()).messages as {
    role: string;
    content: string;
    status: string;
  }[];
  expect(messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([TEXT]);
  expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(1);

  // Once the server has it, the list no longer says it waits; the other tab shows it sent too.
  await openDrawer(page);
  await expect(threadLinks(page).filter({ hasText: TEXT }).locator('[data-waiting]')).toHaveCount(0, { timeout: 10_000 });
  await closeDrawer(page);
  await expect(queued(second)).toHaveCount(0, { timeout: 10_000 });
  await second.close();

  // Still exactly one of each after everything settled (no late retry made another).
  expect((await serverThreads()).map((t) => t.id)).toEqual([threadId]);
  const again = (await (await page.request.get(`/api/threads/${threadId}/messages`)).json()).messages as { role: string }[];
  expect(again.filter((m) => m.role === 'user')).toHaveLength(1);
});

test('signing out with a new chat still waiting says so first', async ({ page, context }) => {
  await sendNewChatOffline(page, context, 'A thought for later');
  await expect(queued(page)).toHaveCount(1);
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Sign out?' });
  await expect(dialog).toContainText("1 message hasn't been sent, and 1 new chat isn't on the server yet");
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.goto('/');
  await openDrawer(page);
  await expect(threadLinks(page).filter({ hasText: 'A thought for later' })).toHaveCount(1);
  await context.setOffline(false);
});

test('with no window open, the worker creates the new chat and sends its message (Background Sync)', async ({ page, context }) => {
  test.setTimeout(90_000);
  await sendNewChatOffline(page, context, 'Made by the worker');
  await expect(queued(page)).toHaveCount(1);
  const threadId = new URL(page.url()).pathname.split('/').pop()!;

  // The app is closed; the network comes back; the browser fires the sync (through DevTools here).
  const sync = await closeAppAndGoOnline(page, context);
  const threads = async () => ((await (await page.request.get('/api/threads')).json()).threads as { id: string }[]).map((t) => t.id);
  const userMessages = async () => {
    const res = await page.request.get(`/api/threads/${threadId}/messages`);
    if (res.status() !== 200) return 0;
    return ((await res.json()).messages as { role: string; content: string }[]).filter((m) => m.role === 'user').length;
  };
  // A sync fired while the worker still sees the network down fails and is fired again.
  await eventually(
    async () => {
      if ((await userMessages()) === 0) {
        await sync.fire();
      }
      expect(await userMessages()).toBe(1);
    },
    { timeout: 30_000, interval: 1000, message: 'the worker to create the chat and deliver its message' },
  );
  expect(await threads()).toEqual([threadId]);

  // Opened again: one thread, no longer waiting; the message once, with its reply.
  await page.goto(`/t/${threadId}`);
  await expect(assistant(page).filter({ hasText: 'Echo: Made by the worker' })).toHaveCount(1, { timeout: 20_000 });
  await expect(user(page).filter({ hasText: 'Made by the worker' })).toHaveCount(1);
  await expect(queued(page)).toHaveCount(0);
  await openDrawer(page);
  await expect(threadLinks(page)).toHaveCount(1);
  await expect(threadLinks(page).locator('[data-waiting]')).toHaveCount(0);
  expect(await threads()).toEqual([threadId]);
});

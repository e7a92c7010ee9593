/**
 * The phone (issue 17): a reply that finishes unseen arrives as a Web Push notification and a
 * tap opens its chat; the share sheet opens a new chat with what was shared; a server that
 * stops answering while the network is up shows a calm notice and recovers by itself.
 *
 * The push service is the test's own (tests/support/push-service.ts on E2E_PORT + 3, which the
 * stack allows): it makes the subscription (keys made here, as a browser makes them), receives
 * what Parley sends, verifies VAPID and decrypts RFC 8291. The worker's `push` is delivered
 * through DevTools (ServiceWorker.deliverPushMessage, as the browser does on a push), and its
 * `notificationclick` dispatched in the worker.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { startPushService, type PushService } from '../support/push-service';
import { assistant, installed, signUpByApi, startChat, user, waitForReply } from './helpers';
import { ownServer } from './own-server';

test.use({ serviceWorkers: 'allow', viewport: { width: 390, height: 844 } });

const shots = join(import.meta.dirname, '.artifacts', 'phone');
const pushPort = Number(process.env.E2E_PORT ?? 4321) + 3;

async function workerRegistration(page: Page, context: BrowserContext) {
  const cdp = await context.newCDPSession(page);
  const id = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r: { scopeURL: string; isDeleted: boolean }) => r.scopeURL.endsWith('/') && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  return { cdp, registrationId: await id };
}

const notifications = (page: Page) =>
  page.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })),
  );

test.describe('Web Push', () => {
  let push: PushService;
  test.beforeAll(async () => {
    push = await startPushService(pushPort);
  });
  test.afterAll(async () => {
    await push?.stop();
  });

  test('a reply that finishes after the user left the app is pushed, shown, and a tap opens its chat', async ({ page, context }) => {
    test.setTimeout(90_000);
    await context.grantPermissions(['notifications']);
    await signUpByApi(page);
    await page.goto('/settings');
    await installed(page);
    // The opt-in is in Settings › Notifications; it asks for permission only when turned on.
    const optIn = page.getByRole('switch', { name: 'Notify me when a reply is ready' });
    await expect(optIn).toBeVisible();
    await expect(optIn).not.toBeChecked();
    await optIn.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'notifications-setting.png') });
    // PushManager.subscribe needs the browser vendor's push service, which a test cannot reach:
    // the test's push service makes the subscription, posted as the app posts it.
    const sub = push.subscribe();
    const res = await page.request.post('/api/push/subscriptions', { data: { endpoint: sub.endpoint, keys: sub.keys } });
    expect(res.status()).toBe(201);

    const threadId = await startChat(page, 'Tell me a long story #slow');
    await expect(assistant(page).last()).toHaveAttribute('data-status', 'streaming');
    // The user leaves the app while it answers (a phone puts it away): nobody watches the end.
    // (Headless Chromium keeps every page "visible", so the hidden-window report, POST
    // /api/push/visibility, is covered by tests/server/push.test.ts.)
    await page.goto('about:blank');

    const delivery = await eventually(() => push.for(sub.id)[0] ?? false, { timeout: 40_000, message: 'a push delivery' });
    expect(push.failures).toEqual([]);
    const payload = delivery.payload as { title: string; body: string; threadId: string; url: string };
    expect(payload.threadId).toBe(threadId);
    expect(payload.title).toBe('Tell me a long story');
    expect(payload.body).toMatch(/^word1 word2/);
    expect(new URL(payload.url).pathname).toBe(`/t/${threadId}`);

    // The browser hands the push to the worker, which shows it.
    await page.goto('/settings');
    const { cdp, registrationId } = await workerRegistration(page, context);
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: new URL(page.url()).origin, registrationId, data: JSON.stringify(payload) });
    const shown = await eventually(async () => (await notifications(page))[0] ?? false, { message: 'a notification shown' });
    expect(shown).toMatchObject({ title: 'Tell me a long story', tag: `reply:${threadId}`, data: { threadId, url: `/t/${threadId}` } });
    expect(shown.body).toMatch(/^word1 word2/);

    // A tap: the open window shows the chat, and the notification goes.
    const [worker] = context.serviceWorkers();
    await worker!.evaluate(async () => {
      const scope = self as unknown as ServiceWorkerGlobalScope;
      const [n] = await scope.registration.getNotifications();
      scope.dispatchEvent(new NotificationEvent('notificationclick', { notification: n! }));
    });
    await page.waitForURL(`**/t/${threadId}`);
    await expect(user(page).first()).toContainText('Tell me a long story');
    await expect.poll(async () => (await notifications(page)).length).toBe(0);
  });
});

test.describe('the share sheet', () => {
  /** Posts to the share target as Android's share sheet makes the browser do: a multipart form navigation. */
  async function share(page: Page, fields: { title?: string; text?: string; url?: string }, image: boolean) {
    await page.evaluate(
      async ({ fields, image }) => {
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = '/share';
        form.enctype = 'multipart/form-data';
        for (const [name, value] of Object.entries(fields)) {
          const input = document.createElement('input');
          input.name = name;
          input.value = value as string;
          form.append(input);
        }
        if (image) {
          const canvas = document.createElement('canvas');
          canvas.width = 64;
          canvas.height = 48;
          const g = canvas.getContext('2d')!;
          g.fillStyle = '#3a7';
          g.fillRect(0, 0, 64, 48);
          const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
          const input = document.createElement('input');
          input.type = 'file';
          input.name = 'images';
          const files = new DataTransfer();
          files.items.add(new File([blob], 'garden.png', { type: 'image/png' }));
          input.files = files.files;
          form.append(input);
        }
        document.body.append(form);
        form.submit();
      },
      { fields, image },
    );
  }

  test('text, a link and a photo shared from another app open a new chat, ready to send', async ({ page }) => {
    await signUpByApi(page);
    await page.goto('/settings');
    await installed(page);
    await share(page, { title: 'Garden ideas', text: 'What could grow here?', url: 'https://example.com/garden' }, true);
    await page.waitForURL(/\/\?new=1$/);
    const composer = page.getByRole('textbox', { name: 'Message' });
    await expect(composer).toHaveValue('Garden ideas\nWhat could grow here?\nhttps://example.com/garden');
    await expect(page.getByRole('img', { name: /garden/i })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
    await page.screenshot({ path: join(shots, 'share-ready.png') });
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
    await expect(user(page).first()).toContainText('What could grow here?');
    await expect(user(page).first().locator('img')).toHaveCount(1);
    await waitForReply(page);
  });

  test('offline, a shared link still opens a new chat, and the message waits in the outbox', async ({ page, context }) => {
    await signUpByApi(page);
    await page.goto('/settings');
    await installed(page);
    await context.setOffline(true);
    await share(page, { text: 'Read this later https://example.com/article' }, false);
    await page.waitForURL(/\/\?new=1$/);
    await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('Read this later https://example.com/article');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
    await expect(page.locator('[data-role="user"][data-status="queued"]')).toHaveCount(1);
    await context.setOffline(false);
    await expect(page.locator('[data-role="user"][data-status="queued"]')).toHaveCount(0, { timeout: 20_000 });
    await waitForReply(page);
  });
});

test.describe('an unreachable server', () => {
  test('stopping the server under an open page shows the calm notice, keeps the thread usable, and recovers without a reload', async ({ page }) => {
    test.setTimeout(150_000);
    const own = await ownServer();
    try {
      const res = await page.request.post(`${own.url}/api/auth/register`, {
        data: { email: 'phone@example.test', password: 'correct horse phone battery', name: 'Pat' },
        headers: { origin: own.url },
      });
      expect(res.status(), await res.text()).toBe(201);
      await page.goto(`${own.url}/?new=1`);
      await installed(page);
      await page.getByRole('textbox', { name: 'Message' }).fill('Hello there');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
      await waitForReply(page);
      const threadUrl = page.url();
      let navigations = 0;
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) navigations++;
      });

      await own.stop();
      // The network is up (navigator.onLine stays true); the next request finds no server.
      await page.getByRole('textbox', { name: 'Message' }).fill('Written while the server was away');
      await page.getByRole('button', { name: 'Send' }).click();
      const notice = page.getByRole('status').filter({ hasText: "Can't reach your Parley server" });
      await expect(notice).toBeVisible();
      await expect(notice).toContainText("showing what's on this device");
      expect(await page.evaluate(() => navigator.onLine)).toBe(true);
      // Everything stays readable, and the message waits.
      await expect(user(page).first()).toContainText('Hello there');
      await expect(user(page).last()).toContainText('Written while the server was away');
      await page.screenshot({ path: join(shots, 'unreachable.png') });

      const back = Date.now();
      await own.start();
      await expect(notice).toBeHidden({ timeout: 35_000 });
      await expect(assistant(page)).toHaveCount(2, { timeout: 35_000 });
      await waitForReply(page);
      expect(Date.now() - back).toBeLessThan(45_000);
      expect(page.url()).toBe(threadUrl);
      expect(navigations).toBe(0); // recovered without a reload
    } finally {
      await own.destroy();
    }
  });
});

test.describe('unread replies', () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test('a reply that finishes while another thread is open marks its thread in the list until it is opened', async ({ page }) => {
    await signUpByApi(page);
    const first = await startChat(page, 'First thread');
    await waitForReply(page);
    await startChat(page, 'Second thread #slow');
    await expect(assistant(page).last()).toHaveAttribute('data-status', 'streaming');
    // Back to the first thread while the second one's reply is still being written.
    const list = page.getByRole('navigation', { name: 'Threads' });
    await list.getByRole('link', { name: 'First thread' }).click();
    await page.waitForURL(`**/t/${first}`);
    const second = list.getByRole('link', { name: /^Second thread/ });
    await expect(second).toHaveAttribute('aria-describedby', /^unread-/, { timeout: 30_000 });
    await expect(second.locator('[data-unread]')).toBeVisible();
    await expect(list.getByRole('link', { name: 'First thread' })).not.toHaveAttribute('aria-describedby', /unread/);
    await page.screenshot({ path: join(shots, 'unread.png') });
    await second.click();
    await expect(second).not.toHaveAttribute('aria-describedby', /unread/);
    await expect(second.locator('[data-unread]')).toHaveCount(0);
    // Seen stays seen after a reload.
    await page.reload();
    await expect(list.getByRole('link', { name: /^Second thread/ }).locator('[data-unread]')).toHaveCount(0);
  });
});

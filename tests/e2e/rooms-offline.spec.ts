/**
 * Rooms offline: a room the user is in is kept on the device (the rooms list and the room's
 * recent messages, in the account's IndexedDB mirror). Opened without a network (the app
 * from its service worker), it shows that copy under the "Offline" notice; a message written
 * then waits in the outbox, and when the network is back it is posted exactly once (its
 * client id is the server's key) and the others see it live.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { installed, newAccount, settled, signUpByApi } from './helpers';

test.use({ serviceWorkers: 'allow' });

const shots = join(import.meta.dirname, '.artifacts', 'rooms');

async function person(browser: Browser, name: string, viewport = { width: 390, height: 844 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const account = await signUpByApi(page, newAccount(name));
  return { context, page, account };
}

/** How many of the room's messages this page's mirror keeps (without creating a database). */
function keptMessages(page: Page, roomId: string) {
  return page.evaluate(async (roomId) => {
    const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('parley-'));
    let count = 0;
    for (const name of names) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      if (db.objectStoreNames.contains('roomMessages')) {
        count += await new Promise<number>((resolve, reject) => {
          const req = db.transaction('roomMessages').objectStore('roomMessages').index('roomId').count(roomId);
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      }
      db.close();
    }
    return count;
  }, roomId);
}

test('a room read and written offline: the kept copy shows, the message waits, is posted once when back, and the other member sees it', async ({ browser }) => {
  test.setTimeout(90_000);
  const me = await person(browser, 'Lina');
  const friend = await person(browser, 'Omar', { width: 1280, height: 800 });
  const created = await me.page.request.post('/api/rooms', { data: { name: 'Train talk', visibility: 'private' } });
  const { room } = (await created.json()) as { room: { id: string } };
  expect((await me.page.request.post(`/api/rooms/${room.id}/members`, { data: { email: friend.account.email } })).status()).toBe(201);
  for (const [who, content] of [
    [friend, 'Which train are you on?'],
    [me, 'The 8:15, just left'],
    [friend, 'See you at the station'],
  ] as const) {
    const res = await who.page.request.post(`/api/rooms/${room.id}/messages`, { data: { id: crypto.randomUUID(), content } });
    expect(res.status()).toBe(201);
    await res.body();
  }

  // Online once: the worker installs, and the room is kept on the device.
  await me.page.goto(`/rooms/${room.id}`);
  await installed(me.page);
  const messages = me.page.getByRole('list', { name: 'Messages' });
  await expect(messages.getByText('See you at the station')).toBeVisible();
  await eventually(async () => expect(await keptMessages(me.page, room.id)).toBe(3), { timeout: 10_000, message: 'the room kept on the device' });

  await friend.page.goto(`/rooms/${room.id}`);
  await expect(friend.page.getByRole('list', { name: 'Messages' }).getByText('The 8:15, just left')).toBeVisible();

  // Offline, the app opened again: the kept copy, with the notice.
  await me.context.setOffline(true);
  await me.page.reload();
  await expect(me.page.getByRole('status').filter({ hasText: 'Offline' })).toBeVisible();
  await expect(messages.getByText('Which train are you on?')).toBeVisible();
  await expect(messages.getByText('See you at the station')).toBeVisible();
  await expect(me.page.getByText('Saved on this device · not live')).toBeVisible();

  // Written offline: it waits in the outbox, shown as waiting.
  await me.page.getByRole('textbox', { name: 'Message' }).fill('Tunnel ahead, written offline');
  await me.page.getByRole('button', { name: 'Send' }).click();
  const waiting = messages.locator('li[data-status="waiting"]');
  await expect(waiting).toContainText('Tunnel ahead, written offline');
  await expect(waiting).toContainText('Waiting to send');
  await expect(me.page.getByRole('status').filter({ hasText: '1 message waiting to send' })).toBeVisible();
  await me.page.screenshot({ path: join(shots, 'room-offline-phone.png') });
  await me.page.emulateMedia({ colorScheme: 'dark' });
  await me.page.screenshot({ path: join(shots, 'room-offline-phone-dark.png') });
  await me.page.emulateMedia({ colorScheme: 'light' });
  // The rooms list, from the device too (on a phone, in the drawer).
  await me.page.getByRole('button', { name: 'Open threads' }).click();
  await expect(me.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /Train talk/ })).toBeVisible();
  await settled(me.page);
  await me.page.screenshot({ path: join(shots, 'rooms-drawer-offline-phone.png') });
  await me.page.keyboard.press('Escape');
  await expect(me.page.getByRole('navigation', { name: 'Rooms' })).toBeHidden();
  // The other member has nothing yet.
  await expect(friend.page.getByRole('list', { name: 'Messages' }).getByText('Tunnel ahead, written offline')).toHaveCount(0);

  // Back online: sent once, seen live by the other member, and no longer waiting here.
  await me.context.setOffline(false);
  await expect(friend.page.getByRole('list', { name: 'Messages' }).getByText('Tunnel ahead, written offline')).toBeVisible({ timeout: 20_000 });
  await expect(waiting).toHaveCount(0, { timeout: 20_000 });
  await expect(messages.getByText('Tunnel ahead, written offline')).toHaveCount(1);
  await expect(me.page.getByText('Saved on this device · not live')).toHaveCount(0);
  // Live again: the friend's next message arrives without a reload.
  const res = await friend.page.request.post(`/api/rooms/${room.id}/messages`, { data: { id: crypto.randomUUID(), content: 'Made it!' } });
  await res.body();
  await expect(messages.getByText('Made it!')).toBeVisible();
  const stored = (await (await friend.page.request.get(`/api/rooms/${room.id}/messages?limit=200`)).json()) as { messages: { content: string }[] };
  expect(stored.messages.filter((m) => m.content === 'Tunnel ahead, written offline')).toHaveLength(1);
  await expect(friend.page.getByRole('list', { name: 'Messages' }).getByText('Tunnel ahead, written offline')).toHaveCount(1);

  // Signing out leaves nothing of the room on the device (the open room's last save included).
  await me.page.goto('/settings');
  await me.page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await me.page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(me.page).toHaveURL(/\/login/);
  expect(await me.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([]);
  await me.context.close();
  await friend.context.close();
});

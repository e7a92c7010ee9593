/**
 * Rooms in the browser: the owner creates a room and adds someone; both have it open;
 * presence and typing show; a message with @ai brings the assistant's answer to both
 * screens, streamed. Screenshots of the room and the rooms list at phone and desktop sizes.
 */
import { expect, test, type Browser } from '@playwright/test';
import { newAccount, shoot, signUpByApi, SIZES } from './helpers';

async function person(browser: Browser, name: string, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const account = await signUpByApi(page, newAccount(name));
  return { context, page, account };
}

test('two people and the assistant in one room, live', async ({ browser }) => {
  const owner = await person(browser, 'Maria');
  const guest = await person(browser, 'Tomás');
  const { page } = owner;

  await page.goto('/');
  const nav = page.getByRole('navigation', { name: 'Rooms' });
  await expect(nav).toBeVisible();
  await nav.getByRole('button', { name: 'New room' }).click();
  const dialog = page.getByRole('dialog', { name: 'New room' });
  await dialog.getByLabel('Name').fill('Kitchen table');
  await dialog.getByLabel('Description').fill('Meals, groceries and who cooks');
  await dialog.getByLabel('Instructions for the assistant').fill('You help a family plan meals.');
  await dialog.getByRole('button', { name: 'Create room' }).click();
  await page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/);
  await expect(nav.getByRole('link', { name: /Kitchen table/ })).toBeVisible();

  // Add the other person from the members panel (beside the conversation on a wide screen).
  await page.getByLabel('Add someone by email').fill(guest.account.email);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const members = page.getByRole('list', { name: 'Members' });
  await expect(members.getByText('Tomás')).toBeVisible();

  // They find it in their rooms and open it; the owner sees them arrive.
  await guest.page.goto('/rooms');
  await guest.page.getByRole('link', { name: /Kitchen table/ }).first().click();
  await guest.page.waitForURL(/\/rooms\//);
  await expect(members.getByRole('listitem').filter({ hasText: 'Tomás' })).toContainText('(here)', { timeout: 10_000 });

  // Typing shows on the other screen.
  await guest.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Pasta?', { delay: 30 });
  await expect(page.getByText('Tomás is typing…')).toBeVisible();
  await guest.page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('list', { name: 'Messages' }).getByText('Pasta?')).toBeVisible();

  // @ai: the assistant answers both.
  await page.getByRole('textbox', { name: 'Message' }).fill('@ai what goes with pasta?');
  await expect(page.getByText('The assistant will answer everyone here.')).toBeVisible();
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  for (const p of [page, guest.page]) {
    const reply = p.getByRole('listitem').filter({ has: p.getByText('Assistant', { exact: true }) }).last();
    await expect(reply).toContainText(/pasta/i, { timeout: 20_000 });
  }
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');

  // A look at it, at both sizes (and the rooms list).
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    if (size.name === 'phone') {
      // On a phone the members are a sheet, opened from the header and closed again.
      await expect(page.getByRole('list', { name: 'Members' })).toBeHidden();
      await page.getByRole('button', { name: 'Members' }).click();
      await expect(page.getByRole('list', { name: 'Members' })).toBeVisible();
      await shoot(page, 'rooms-members-phone');
      await page.getByRole('button', { name: 'Close members' }).click();
      await expect(page.getByRole('list', { name: 'Members' })).toBeHidden();
    }
    await shoot(page, `rooms-room-${size.name}`);
    await page.goto('/rooms');
    await expect(page.getByRole('link', { name: /Kitchen table/ }).last()).toBeVisible();
    await shoot(page, `rooms-list-${size.name}`);
    await page.goBack();
    await expect(page.getByRole('list', { name: 'Messages' })).toBeVisible();
  }
  await owner.context.close();
  await guest.context.close();
});

test('a private room is not there for someone who was not added', async ({ browser }) => {
  const owner = await person(browser, 'Owner');
  const other = await person(browser, 'Stranger');
  const res = await owner.page.request.post('/api/rooms', { data: { name: 'Secret', visibility: 'private' } });
  const { room } = await res.json();
  await other.page.goto(`/rooms/${room.id}`);
  await expect(other.page.getByRole('heading', { name: "This room isn't available" })).toBeVisible();
  await other.page.goto('/rooms');
  // (Other tests' public rooms may be listed; this private one never is.)
  await expect(other.page.getByRole('heading', { name: 'Rooms', level: 1 })).toBeVisible();
  await expect(other.page.getByLabel('Loading rooms')).toHaveCount(0);
  await expect(other.page.locator('main')).not.toContainText('Secret');
  await expect(other.page.getByRole('navigation', { name: 'Rooms' })).not.toContainText('Secret');
  await owner.context.close();
  await other.context.close();
});

test('hostile names and messages stay text: nothing runs, mentions inject no markup', async ({ browser }) => {
  const owner = await person(browser, 'Host');
  const evil = await person(browser, `<img src=x onerror="window.__xss='name'">`);
  const res = await owner.page.request.post('/api/rooms', { data: { name: `<b onmouseover="window.__xss='room'">Den</b>`, visibility: 'public' } });
  const { room } = await res.json();
  const payload = `@ai <script>window.__xss='msg'</script><img src=x onerror="window.__xss='img'"> @<b>bold</b>`;
  expect((await evil.page.request.post(`/api/rooms/${room.id}/messages`, { data: { id: crypto.randomUUID(), content: payload } })).status()).toBe(201);
  await owner.page.goto(`/rooms/${room.id}`);
  const list = owner.page.getByRole('list', { name: 'Messages' });
  await expect(list.getByText(payload)).toBeVisible();
  // The assistant's (echoing) answer goes through the sanitizer.
  await expect(list.getByRole('listitem').filter({ has: owner.page.getByText('Assistant', { exact: true }) })).toContainText('Echo', { timeout: 20_000 });
  const state = await owner.page.evaluate(() => ({
    xss: (window as unknown as { __xss?: unknown }).__xss ?? null,
    handlers: document.querySelectorAll('[onerror], [onload], [onmouseover]').length,
    // People's messages and names are text: no element of theirs (the assistant's Markdown is sanitized instead).
    injected: document.querySelectorAll('li[data-role="user"] :is(b, img, script), h1 b').length,
  }));
  expect(state).toEqual({ xss: null, handlers: 0, injected: 0 });
  await expect(owner.page.getByRole('heading', { level: 1 })).toContainText('<b onmouseover');
  await owner.context.close();
  await evil.context.close();
});

/**
 * Which model answers (issue 18, defect 8) and the branch choice kept across a reload
 * (defect 9). The e2e stack's fake provider offers openai: and mistral: models; the
 * default is openai:gpt-4o-mini (tests/e2e/stack.ts).
 */
import { expect, test, type Page } from '@playwright/test';
import { assistant, shoot, signUpByApi, SIZES, startChat, waitForReply } from './helpers';

test.beforeEach(async ({ page }) => {
  await signUpByApi(page);
});

const picker = (page: Page) => page.getByRole('button', { name: /^Model/ });
/** What the picker shows: the full id on wide screens, the short name on a phone. */
const shown = (page: Page) => picker(page).locator('.name:visible');
const regenerateWith = (page: Page) => assistant(page).last().getByRole('button', { name: 'With another model…' });

async function threadModel(page: Page, id: string): Promise<string | null> {
  const res = await page.request.get(`/api/threads/${id}`);
  expect(res.ok()).toBe(true);
  return (await res.json()).thread.model;
}

async function assistantModels(page: Page, id: string): Promise<(string | null)[]> {
  const res = await page.request.get(`/api/threads/${id}/messages`);
  const { messages } = (await res.json()) as { messages: { role: string; model: string | null }[] };
  return messages.filter((m) => m.role === 'assistant').map((m) => m.model);
}

test('a new chat started with a picked model is created with it, and its reply says so', async ({ page }) => {
  await page.goto('/?new=1');
  // The default model (at this width by its full id; on a phone by its short name, see below).
  await expect(picker(page)).toHaveAccessibleName('Model: openai:gpt-4o-mini');
  await expect(shown(page)).toHaveText('openai:gpt-4o-mini');
  await picker(page).click();
  await expect(picker(page)).toHaveAttribute('aria-expanded', 'true');
  const menu = page.getByRole('menu', { name: 'Model' });
  // Full names, from both providers, the current one checked.
  await expect(menu.getByRole('menuitemradio', { name: /openai:gpt-4o-mini/ })).toHaveAttribute('aria-checked', 'true');
  await menu.getByRole('menuitemradio', { name: /mistral:mistral-large-latest/ }).click();
  await expect(menu).toBeHidden();
  await expect(shown(page)).toHaveText('mistral:mistral-large-latest');

  await page.getByRole('textbox', { name: 'Message' }).fill('Which model are you?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(/\/t\/[0-9a-f-]{36}$/);
  const id = page.url().split('/t/')[1]!;
  await waitForReply(page);
  await expect(assistant(page).last().getByText('mistral-large-latest', { exact: true })).toBeVisible();
  expect(await threadModel(page, id)).toBe('mistral:mistral-large-latest');
  // The thread header shows the thread's model.
  await expect(shown(page)).toHaveText('mistral:mistral-large-latest');
});

test("the thread header's picker changes the model of the next reply", async ({ page }) => {
  const id = await startChat(page, 'First question');
  await waitForReply(page);
  await expect(assistant(page).last().getByText('gpt-4o-mini', { exact: true })).toBeVisible();

  await picker(page).click();
  await page.getByRole('menu', { name: 'Model' }).getByRole('menuitemradio', { name: /mistral:pixtral-large-latest/ }).click();
  await expect(shown(page)).toHaveText('mistral:pixtral-large-latest');
  await expect.poll(() => threadModel(page, id)).toBe('mistral:pixtral-large-latest');

  await page.getByRole('textbox', { name: 'Message' }).fill('Second question');
  await page.keyboard.press('Enter');
  await expect(assistant(page)).toHaveCount(2);
  await waitForReply(page);
  await expect(assistant(page).last().getByText('pixtral-large-latest', { exact: true })).toBeVisible();
  await expect(assistant(page).first().getByText('gpt-4o-mini', { exact: true })).toBeVisible();
  // Kept after a reload (the server has it).
  await page.reload();
  await expect(shown(page)).toHaveText('mistral:pixtral-large-latest');
});

test('Regenerate with… another model adds a sibling reply written by that model', async ({ page }) => {
  const id = await startChat(page, 'Tell me something');
  await waitForReply(page);

  // A keyboard-operable menu button: Escape closes it and returns to the button.
  await regenerateWith(page).focus();
  await page.keyboard.press('Enter');
  await expect(regenerateWith(page)).toHaveAttribute('aria-expanded', 'true');
  const menu = page.getByRole('menu', { name: 'Regenerate with' });
  await expect(menu.getByRole('menuitem').first()).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(menu.getByRole('menuitem').nth(1)).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(regenerateWith(page)).toHaveAttribute('aria-expanded', 'false');
  await expect(regenerateWith(page)).toBeFocused();

  await regenerateWith(page).click();
  await menu.getByRole('menuitem', { name: /mistral:mistral-small-latest/ }).click();
  await expect(assistant(page)).toHaveCount(1);
  await expect(assistant(page).getByText('2 / 2')).toBeVisible();
  await waitForReply(page);
  await expect(assistant(page).getByText('mistral-small-latest', { exact: true })).toBeVisible();
  await assistant(page).getByRole('button', { name: 'Previous version' }).click();
  await expect(assistant(page).getByText('1 / 2')).toBeVisible();
  await expect(assistant(page).getByText('gpt-4o-mini', { exact: true })).toBeVisible();

  expect(await assistantModels(page, id)).toEqual(['openai:gpt-4o-mini', 'mistral:mistral-small-latest']);
  // The thread's own model is unchanged: only that reply was written by another.
  expect(await threadModel(page, id)).toBeNull();
});

test('the version picked stays picked after a reload, and is forgotten at sign-out', async ({ page }) => {
  await startChat(page, 'Give me a version');
  await waitForReply(page);
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await expect(assistant(page).getByText('2 / 2')).toBeVisible();
  await waitForReply(page);
  const second = await assistant(page).getAttribute('data-id');
  await assistant(page).getByRole('button', { name: 'Previous version' }).click();
  await expect(assistant(page).getByText('1 / 2')).toBeVisible();
  const first = await assistant(page).getAttribute('data-id');
  expect(first).not.toBe(second);

  await page.reload();
  await expect(assistant(page).getByText('1 / 2')).toBeVisible();
  await expect(assistant(page)).toHaveAttribute('data-id', first!);

  // Back to the latest: nothing left to remember, and the reload shows it.
  await assistant(page).getByRole('button', { name: 'Next version' }).click();
  await page.reload();
  await expect(assistant(page).getByText('2 / 2')).toBeVisible();
  await assistant(page).getByRole('button', { name: 'Previous version' }).click();
  await expect(assistant(page).getByText('1 / 2')).toBeVisible();

  const remembered = () => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley:branch:')).length);
  expect(await remembered()).toBe(1);
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  expect(await remembered()).toBe(0);
});

for (const size of SIZES) {
  test(`screens: the model picker and Regenerate with… (${size.name})`, async ({ page }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.goto('/?new=1');
    // A phone shows the short name (never "openai:gpt-4o-m…"); the full id stays in the accessible name.
    await expect(picker(page)).toHaveAccessibleName('Model: openai:gpt-4o-mini');
    await expect(shown(page)).toHaveText(size.name === 'phone' ? 'gpt-4o-mini' : 'openai:gpt-4o-mini');
    await picker(page).click();
    await expect(page.getByRole('menu', { name: 'Model' }).getByRole('menuitemradio').first()).toBeVisible();
    await shoot(page, `models-new-chat-picker-${size.name}`);
    await page.keyboard.press('Escape');

    await startChat(page, 'A question for the screenshot');
    await waitForReply(page);
    // Opened from the keyboard, so the focused item's ring shows.
    await regenerateWith(page).focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('menu', { name: 'Regenerate with' }).getByRole('menuitem').first()).toBeFocused();
    await shoot(page, `models-regenerate-with-${size.name}`);
    await page.keyboard.press('Escape');

    await page.request.put('/api/settings', { data: { theme: 'dark' } });
    await page.reload();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await picker(page).click();
    await expect(page.getByRole('menu', { name: 'Model' }).getByRole('menuitemradio').first()).toBeVisible();
    await shoot(page, `models-thread-picker-dark-${size.name}`);
  });
}

import { expect, test } from '@playwright/test';
import { signUpByApi, startChat, waitForReply } from './helpers';

test('settings: theme, default model, own provider keys shown as last four', async ({ page }) => {
  await signUpByApi(page);
  await page.goto('/settings');
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();

  // Theme: applied at once, saved, and kept across reloads.
  await page.getByRole('radio', { name: 'Dark' }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('status').getByText('Theme saved')).toBeVisible();
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('radio', { name: 'Dark' })).toBeChecked();
  await page.getByRole('radio', { name: 'System' }).check();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);

  // Default model, from /api/models.
  const model = page.getByRole('combobox', { name: 'Default model' });
  await expect(model.locator('option', { hasText: 'gpt-4o ·' }).first()).toBeAttached();
  await model.selectOption('openai:gpt-4o');
  await expect(page.getByRole('status').getByText('Default model saved')).toBeVisible();
  const saved = await (await page.request.get('/api/settings')).json();
  expect(saved.settings.defaultModel).toBe('openai:gpt-4o');

  // A key: saved, then shown only as its last four characters.
  const key = page.getByLabel('Mistral API key');
  await key.fill('mk-test-secret-key-9876');
  await page.getByRole('button', { name: 'Save Mistral key' }).click();
  await expect(page.getByText('Mistral key ending in 9876')).toBeVisible();
  await expect(page.locator('body')).not.toContainText('mk-test-secret');
  await page.getByRole('button', { name: 'Remove Mistral key' }).click();
  await expect(page.getByLabel('Mistral API key')).toBeVisible();
});

test('thread quick settings: model and system prompt', async ({ page }) => {
  await signUpByApi(page);
  const id = await startChat(page, 'Quick settings please');
  await waitForReply(page);
  await page.getByRole('button', { name: 'Thread settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Thread settings' });
  await dialog.getByRole('combobox', { name: 'Model' }).selectOption('openai:gpt-4o');
  await dialog.getByRole('textbox', { name: 'System prompt' }).fill('Answer like a pirate.');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator('header')).toContainText('openai:gpt-4o');
  const thread = (await (await page.request.get(`/api/threads/${id}`)).json()).thread;
  expect(thread).toMatchObject({ model: 'openai:gpt-4o', systemPrompt: 'Answer like a pirate.' });
});

test('delete account asks for confirmation, then the account is gone', async ({ page }) => {
  const account = await signUpByApi(page);
  await page.goto('/settings');
  await page.getByRole('button', { name: 'Delete account' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete your account?' });
  const confirm = dialog.getByRole('button', { name: 'Delete account forever' });
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel(/Type delete to confirm/).fill('delete');
  await confirm.click();
  await expect(page).toHaveURL(/\/register/);
  const login = await page.request.post('/api/auth/login', { data: { email: account.email, password: account.password } });
  expect(login.status()).toBe(401);
});

test('two settings changed in quick succession are both kept, even when the first answer comes last', async ({ page }) => {
  await signUpByApi(page);
  await page.goto('/settings');
  const model = page.getByRole('combobox', { name: 'Default model' });
  await expect(model.locator('option', { hasText: 'gpt-4o ·' }).first()).toBeAttached();
  // The first save's answer is held back until the second's has arrived (or a second has
  // passed, when the app waits for the first before sending the second, as it should).
  let patches = 0;
  let releaseFirst = () => {};
  const secondAnswered = new Promise<void>((resolve) => (releaseFirst = resolve));
  await page.route('**/api/settings', async (route) => {
    if (route.request().method() !== 'PUT') return route.continue();
    const n = ++patches;
    const response = await route.fetch();
    if (n === 1) await Promise.race([secondAnswered, new Promise((resolve) => setTimeout(resolve, 1000))]);
    await route.fulfill({ response });
    if (n === 2) releaseFirst();
  });
  await page.getByRole('radio', { name: 'Dark' }).check();
  await model.selectOption('openai:gpt-4o');
  await expect.poll(() => patches).toBe(2);
  await expect(page.getByRole('status').getByText('Default model saved')).toBeVisible();
  // The screen shows both, as the server has them.
  await expect(model).toHaveValue('openai:gpt-4o');
  await expect(page.getByRole('radio', { name: 'Dark' })).toBeChecked();
  const saved = (await (await page.request.get('/api/settings')).json()).settings;
  expect(saved).toMatchObject({ theme: 'dark', defaultModel: 'openai:gpt-4o' });
});

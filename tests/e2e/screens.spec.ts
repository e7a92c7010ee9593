/**
 * Every screen at a phone size (390×844) and a desktop size (1280×800): axe-core finds no
 * serious or critical violations, and a screenshot of each is saved to
 * tests/e2e/.artifacts/screens/ for people to look at.
 */
import { expect, test, type Page } from '@playwright/test';
import { newThread, signUpByApi, startChat, waitForReply, shoot, SIZES } from './helpers';

// Each test walks many screens with an axe audit on each: give them room on a loaded machine.
test.describe.configure({ timeout: 120_000 });

const check = (page: Page, screen: string, size: string) => shoot(page, `${screen}-${size}`);

for (const size of SIZES) {
  test.describe(`${size.name} ${size.width}×${size.height}`, () => {
    test.use({ viewport: { width: size.width, height: size.height } });

    test('sign-in and sign-up', async ({ page }) => {
      await page.goto('/login');
      await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
      await check(page, 'sign-in', size.name);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect(page.locator('#email-error')).toHaveText('Enter your email');
      await page.getByRole('textbox', { name: 'Email' }).fill('nobody@example.test');
      await page.getByLabel('Password').fill('not the right one');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect(page.getByRole('alert')).toBeVisible();
      await check(page, 'sign-in-error', size.name);
      await page.goto('/register');
      await expect(page.getByRole('button', { name: 'Create account' })).toBeVisible();
      await check(page, 'sign-up', size.name);
    });

    test('new chat, thread, quick settings, share, drawer, call', async ({ page }) => {
      await signUpByApi(page);
      for (const title of ['Trip to Lisbon', 'Tax questions']) await newThread(page.request, { title });
      const pinned = await newThread(page.request, { title: 'Weekly meal plan' });
      expect((await page.request.patch(`/api/threads/${pinned.id}`, { data: { pinned: true } })).status()).toBe(200);

      await page.goto('/?new=1');
      await expect(page.getByRole('textbox', { name: 'Message' })).toBeVisible();
      await check(page, 'new-chat', size.name);

      await startChat(page, 'How do I write a greeting function in TypeScript? #code');
      await waitForReply(page);
      await expect(page.locator('.hljs-keyword').first()).toBeVisible();
      const composer = page.getByRole('textbox', { name: 'Message' });
      await composer.fill('Thanks! And in one sentence, what is a closure?');
      await composer.press('Enter');
      await expect(page.locator('[data-role="assistant"]')).toHaveCount(2);
      await waitForReply(page);
      await page.getByRole('button', { name: 'Regenerate' }).last().click();
      await expect(page.locator('[data-role="assistant"]').last().getByText('2 / 2')).toBeVisible();
      await check(page, 'thread', size.name);

      await page.getByRole('button', { name: 'Thread settings' }).click();
      await expect(page.getByRole('dialog', { name: 'Thread settings' })).toBeVisible();
      await check(page, 'thread-settings', size.name);
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: 'Share' }).click();
      const share = page.getByRole('dialog', { name: 'Share thread' });
      await expect(share.getByRole('textbox', { name: 'Link' })).toHaveValue(/\/s\//);
      await check(page, 'share', size.name);
      await share.getByRole('button', { name: 'Stop sharing' }).click();
      await share.getByRole('button', { name: 'Stop sharing' }).click(); // the confirmation
      await expect(share).toBeHidden();

      await page.getByRole('textbox', { name: 'Message' }).fill('A long answer please #long');
      await page.keyboard.press('Enter');
      await expect(page.locator('[data-role="assistant"]').last()).toContainText('word3');
      await check(page, 'thread-streaming', size.name);
      await page.getByRole('button', { name: 'Stop' }).click();
      await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute('data-status', 'cancelled');

      await page.getByRole('textbox', { name: 'Message' }).fill(`Break please (${size.name}) #fail`);
      await page.keyboard.press('Enter');
      await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute('data-status', 'error', { timeout: 15_000 });
      await check(page, 'thread-error', size.name);

      if (size.name === 'phone') {
        await page.getByRole('button', { name: 'Open threads' }).click();
        await expect(page.getByRole('navigation', { name: 'Threads' })).toBeVisible();
        await check(page, 'drawer', size.name);
        await page.keyboard.press('Escape');
      }

      await page.getByRole('button', { name: 'Start voice call' }).click();
      await expect(page.getByRole('button', { name: 'End call' })).toBeVisible();
      await check(page, 'call', size.name);
    });

    test('settings, light and dark', async ({ page }) => {
      await signUpByApi(page);
      await page.request.put('/api/settings', { data: { openaiKey: 'sk-test-abcdefgh1234' } });
      await page.goto('/settings');
      await expect(page.getByText('OpenAI key ending in 1234')).toBeVisible();
      await check(page, 'settings', size.name);
      await page.getByRole('radio', { name: 'Dark' }).check();
      await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
      await check(page, 'settings-dark', size.name);
      await page.getByRole('button', { name: 'Delete account' }).click();
      await check(page, 'delete-account', size.name);
      await page.keyboard.press('Escape');

      const { id } = await newThread(page.request, {});
      await page.goto(`/t/${id}`);
      await page.getByRole('textbox', { name: 'Message' }).fill('Dark mode code sample #code');
      await page.keyboard.press('Enter');
      await waitForReply(page);
      await expect(page.locator('.hljs-keyword').first()).toBeVisible();
      await check(page, 'thread-dark', size.name);
    });
  });
}

/**
 * How a message's actions sit (issue 18, defects 8 and 10): the edit pencil beside the user's
 * bubble, not on a row of its own; no Copy under a reply that failed before any text; the
 * name of the model that wrote each reply, small, under it.
 */
import { expect, test } from '@playwright/test';
import { assistant, signUpByApi, SIZES, startChat, user, waitForReply } from './helpers';

test('the edit pencil shares the bubble’s row; each reply names its model; a failed empty reply has no Copy', async ({ page }) => {
  await signUpByApi(page);
  await startChat(page, 'Hello there');
  await waitForReply(page);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    // Same row: the pencil's vertical extent lies within the bubble's, and it is to its left.
    // Measured until the layout has settled: on a wide screen the thread list (a chunk of its
    // own) arrives after the resize and moves the thread over, between two measurements.
    const placement = async () => {
      const bubble = (await user(page).first().locator('.bubble').boundingBox())!;
      const pencil = (await user(page).first().getByRole('button', { name: 'Edit message' }).boundingBox())!;
      return {
        sameRow: pencil.y >= bubble.y - 1 && pencil.y + pencil.height <= bubble.y + bubble.height + 1,
        leftOfBubble: pencil.x + pencil.width <= bubble.x,
      };
    };
    await expect.poll(placement, { message: size.name }).toEqual({ sameRow: true, leftOfBubble: true });
  }
  await expect(assistant(page).first()).toContainText('gpt-4o-mini');
  await expect(assistant(page).first().getByRole('button', { name: 'Copy reply' })).toBeVisible();

  await page.getByRole('textbox', { name: 'Message' }).fill('This one breaks #broken');
  await page.getByRole('button', { name: 'Send' }).click();
  const failed = assistant(page).last();
  await expect(failed).toHaveAttribute('data-status', 'error');
  await expect(failed.getByRole('button', { name: 'Retry' })).toBeVisible();
  await expect(failed.getByRole('button', { name: 'Copy reply' })).toHaveCount(0);
});

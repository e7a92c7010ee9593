import { expect, test, type Page } from '@playwright/test';
import { newThread, settled, shoot, signUpByApi, SIZES } from './helpers';

async function makeThreads(page: Page, titles: string[]) {
  for (const title of titles) await newThread(page.request, { title });
}

const nav = (page: Page) => page.getByRole('navigation', { name: 'Threads' });

test('the list: rename, pin (pinned first), filter, delete with undo', async ({ page }) => {
  await signUpByApi(page);
  await makeThreads(page, ['Gardening plans', 'Trip to Lisbon', 'Tax questions']);
  await page.goto('/');
  const links = nav(page).getByRole('link');
  await expect(links).toHaveText(['Tax questions', 'Trip to Lisbon', 'Gardening plans']);

  // Rename
  await nav(page).getByRole('button', { name: 'Actions for Trip to Lisbon' }).click();
  await page.getByRole('button', { name: 'Rename' }).click();
  const title = page.getByRole('textbox', { name: 'Thread title' });
  await title.fill('Weekend in Porto');
  await title.press('Enter');
  await expect(nav(page).getByRole('link', { name: 'Weekend in Porto' })).toBeVisible();

  // Pin: pinned threads come first, under "Pinned".
  await nav(page).getByRole('button', { name: 'Actions for Gardening plans' }).click();
  await page.getByRole('button', { name: 'Pin', exact: true }).click();
  await expect(nav(page).getByRole('heading', { name: 'Pinned' })).toBeVisible();
  await expect(links.first()).toHaveText(/Gardening plans/);

  // Both survive a reload (saved on the server).
  await page.reload();
  await expect(links).toHaveText([/Gardening plans/, 'Tax questions', 'Weekend in Porto']);

  // Filter over titles.
  const filter = page.getByRole('searchbox', { name: 'Filter threads' });
  await filter.fill('porto');
  await expect(links).toHaveText(['Weekend in Porto']);
  await filter.fill('nothing like this');
  await expect(nav(page)).toContainText('No threads match');
  await filter.fill('');

  // Delete, then undo: the thread comes back and is not deleted on the server.
  await nav(page).getByRole('button', { name: 'Actions for Tax questions' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(nav(page).getByRole('link', { name: 'Tax questions' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(nav(page).getByRole('link', { name: 'Tax questions' })).toBeVisible();

  // Delete for good: gone after the undo window, on the server too.
  await nav(page).getByRole('button', { name: 'Actions for Tax questions' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status').getByText(/Deleted “Tax questions”/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Undo' })).toHaveCount(0, { timeout: 10_000 });
  await expect
    .poll(async () => ((await (await page.request.get('/api/threads')).json()) as { threads: { title: string }[] }).threads.map((t) => t.title))
    .toEqual(expect.not.arrayContaining(['Tax questions']));
});

test('deleting the open thread goes back to a new chat; a missing thread says so', async ({ page }) => {
  await signUpByApi(page);
  await makeThreads(page, ['Only thread']);
  await page.goto('/');
  await nav(page).getByRole('link', { name: 'Only thread' }).click();
  await expect(page).toHaveURL(/\/t\//);
  await expect(page.getByText('No messages yet')).toBeVisible();
  await nav(page).getByRole('button', { name: 'Actions for Only thread' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(nav(page)).toContainText('No threads yet');

  await page.goto('/t/00000000-0000-4000-8000-000000000000');
  await expect(page.getByRole('heading', { name: "This thread isn't here" })).toBeVisible();
});

test('phones: the thread list is a drawer', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signUpByApi(page);
  await makeThreads(page, ['Pocket thread']);
  await page.goto('/');
  await expect(page.getByRole('navigation', { name: 'Threads' })).toBeHidden();
  await page.getByRole('button', { name: 'Open threads' }).click();
  await expect(nav(page)).toBeVisible();
  await nav(page).getByRole('link', { name: 'Pocket thread' }).click();
  await expect(page).toHaveURL(/\/t\//);
  await expect(nav(page)).toBeHidden();
  await page.getByRole('button', { name: 'Open threads' }).click();
  await page.keyboard.press('Escape');
  await expect(nav(page)).toBeHidden();
});

test('long titles ellipsize and every row keeps its actions on screen, on a phone and a desktop', async ({ page }) => {
  await signUpByApi(page);
  const long = 'Antidisestablishmentarianism'.repeat(6); // one unbroken word, far wider than the list
  await makeThreads(page, ['Weekly groceries and a plan for the garden', long, 'Short one']);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.goto('/');
    if (size.name === 'phone') await page.getByRole('button', { name: 'Open threads' }).click();
    const list = nav(page);
    await expect(list.getByRole('link')).toHaveCount(3);
    // Measure the drawer where it comes to rest, not while it slides in.
    await settled(page);
    // The list never scrolls sideways.
    const sideways = await list.evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(sideways, size.name).toBeLessThanOrEqual(0);
    // Each row's actions button lies inside the list and the viewport.
    const box = (await list.boundingBox())!;
    for (const name of ['Weekly groceries and a plan for the garden', long, 'Short one']) {
      const button = list.getByRole('button', { name: `Actions for ${name}` });
      const b = (await button.boundingBox())!;
      expect(b.x + b.width, `${size.name}: ${name.slice(0, 20)}`).toBeLessThanOrEqual(Math.min(box.x + box.width, size.width) + 0.5);
      await button.click();
      await expect(page.getByRole('button', { name: 'Rename' })).toBeVisible();
      await page.keyboard.press('Escape');
    }
    // The long title is cut with an ellipsis, not clipped mid-letter with no sign.
    const title = list.getByRole('link', { name: long }).locator('.title');
    expect(await title.evaluate((el) => [getComputedStyle(el).textOverflow, el.scrollWidth > el.clientWidth])).toEqual(['ellipsis', true]);
    await shoot(page, `thread-list-long-titles-${size.name}`);
  }
});

test('a long list renders a window that grows as it scrolls; the filter reaches every thread; nothing older to show at the end', async ({ page }) => {
  await signUpByApi(page);
  const titles = Array.from({ length: 150 }, (_, i) => `Note ${String(i + 1).padStart(3, '0')}`);
  await Promise.all(titles.map((title) => newThread(page.request, { title })));
  await page.goto('/');
  const list = nav(page);
  const links = list.getByRole('link');
  await expect(list.getByRole('heading', { name: 'Today' })).toBeVisible();
  // A window, not 150 rows at once.
  await expect(links).toHaveCount(40);
  // Scrolling to the end brings the rest, window by window.
  await expect
    .poll(async () => {
      await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      return links.count();
    })
    .toBe(150);
  // Everything is listed: no "Show older threads" once the list holds every thread.
  await expect(list.getByRole('button', { name: 'Show older threads' })).toHaveCount(0);
  // The filter searches all threads, not only the rendered window.
  await page.getByRole('searchbox', { name: 'Filter threads' }).fill('Note 001');
  await expect(links).toHaveText(['Note 001']);
});

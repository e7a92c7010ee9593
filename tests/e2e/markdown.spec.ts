/**
 * What replies render like on a phone (issue 18, defects 6 and 7): a wide table scrolls
 * sideways inside the message with its words whole, in the app and on the share page;
 * maths renders (loaded only when a reply has some); task lists show disabled checkboxes.
 */
import { expect, test, type Page } from '@playwright/test';
import { assistant, shoot, signUpByApi, SIZES, startChat, waitForReply } from './helpers';

/** Collects the JavaScript a page downloads that holds KaTeX (the maths chunk). */
function watchMathCode(page: Page) {
  const found: string[] = [];
  page.on('response', async (r) => {
    if (!r.url().endsWith('.js')) return;
    const body = await r.text().catch(() => '');
    if (body.includes('KaTeX parse error')) found.push(r.url());
  });
  return found;
}

async function checkRich(page: Page, scope: string) {
  const reply = page.locator(scope).last();
  // Maths as MathML (first: the reply renders again once the maths chunk has loaded).
  await expect(reply.locator('math')).toHaveCount(2);
  await expect(reply.locator('math[display="block"]')).toHaveCount(1);
  // The table: words whole (no cell narrower than its longest word), the table scrolls itself.
  const table = reply.locator('table');
  await expect(table).toBeVisible();
  const fit = await table.evaluate((el) => {
    const cells = [...el.querySelectorAll('th, td')] as HTMLElement[];
    const broken = cells.filter((c) => {
      const range = document.createRange();
      range.selectNodeContents(c);
      // A cell whose single-word text wraps has more than one line box.
      return !/\s/.test(c.textContent!.trim()) && range.getClientRects().length > 1;
    });
    return { broken: broken.map((c) => c.textContent), scrolls: el.scrollWidth > el.clientWidth, overflowX: getComputedStyle(el).overflowX };
  });
  expect(fit.broken).toEqual([]);
  expect(fit.overflowX).toBe('auto');
  // Nothing else of the page scrolls sideways because of it.
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  // No raw TeX; a price is not maths.
  await expect(reply).not.toContainText('\\frac');
  await expect(reply).not.toContainText('$e^');
  await expect(reply).toContainText('it costs $5 or $10.');
  // Task list: two disabled checkboxes, one checked.
  const boxes = reply.getByRole('checkbox');
  await expect(boxes).toHaveCount(2);
  await expect(boxes.first()).toBeChecked();
  await expect(boxes.first()).toBeDisabled();
  await expect(boxes.last()).not.toBeChecked();
  return fit.scrolls;
}

test('tables, maths and task lists in the app and on the share page, phone and desktop', async ({ page, browser }) => {
  await signUpByApi(page);
  const mathCode = watchMathCode(page);
  const id = await startChat(page, 'Compare sorting algorithms #rich');
  await waitForReply(page);
  await expect(assistant(page).last().locator('math')).toHaveCount(2);
  expect(mathCode, 'maths is loaded on demand, as its own chunk').toHaveLength(1);

  const share = await page.request.post(`/api/threads/${id}/share`);
  const { code } = (await share.json()) as { code: string };

  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.goto(`/t/${id}`);
    await waitForReply(page);
    const scrolls = await checkRich(page, '[data-role="assistant"]');
    if (size.name === 'phone') expect(scrolls, 'the wide table scrolls on a phone').toBe(true);
    await assistant(page).last().locator('table').scrollIntoViewIfNeeded();
    await shoot(page, `markdown-rich-${size.name}`);

    const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, viewport: size, serviceWorkers: 'block' });
    const viewer = await context.newPage();
    await viewer.goto(`/s/${code}`);
    await checkRich(viewer, '[data-role="assistant"]');
    await shoot(viewer, `markdown-rich-share-${size.name}`);
    await context.close();
  }
});

test('the first load of a thread without maths fetches no maths code', async ({ page }) => {
  await signUpByApi(page);
  const mathCode = watchMathCode(page);
  await startChat(page, 'Just words, please');
  await waitForReply(page);
  await page.reload();
  await waitForReply(page);
  await page.waitForLoadState('networkidle');
  expect(mathCode).toEqual([]);
});

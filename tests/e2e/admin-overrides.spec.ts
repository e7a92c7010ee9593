/**
 * Per-model overrides in the console (issue 16, deliverable 1): where a connection's server
 * says nothing of a model, the admin edits its row in "Models of <name>": what it can do
 * (vision, tools, reasoning) and its context length, saved through PATCH, shown in the table
 * and in /api/models; "Use the server's values" takes the override away again.
 * The connection is the stack's fake provider (E2E_PORT + 1) and is removed afterwards.
 */
import { expect, test } from '@playwright/test';
import { ADMIN, shoot, SIZES } from './helpers';

const PORT = Number(process.env.E2E_PORT ?? 4321);
const NAME = 'Overrides lab';
const MODEL = 'overrides-lab:gpt-4o-mini';

test.afterAll(async ({ request }) => {
  await request.post('/api/auth/login', { data: ADMIN });
  const list = (await (await request.get('/api/admin/connections')).json()) as { connections?: { id: string; name: string }[] };
  for (const c of list.connections ?? []) if (c.name === NAME) await (await request.delete(`/api/admin/connections/${c.id}`)).body();
});

test("an admin sets a model's features and context length where its server says nothing", async ({ page }) => {
  expect((await page.request.post('/api/auth/login', { data: ADMIN })).status()).toBe(200);
  await page.goto('/admin/connections');
  const form = page.locator('form.add');
  await form.getByLabel('Name', { exact: true }).fill(NAME);
  await form.getByLabel('Base URL').fill(`http://127.0.0.1:${PORT + 1}/v1`);
  await form.getByRole('button', { name: 'Add connection' }).click();
  await expect(page.getByRole('listitem', { name: NAME }).locator('.status')).toHaveText(/^Working/);

  const table = page.getByRole('table', { name: `Models of ${NAME}` });
  const row = table.getByRole('row').filter({ hasText: MODEL });
  await page.getByRole('button', { name: `Edit ${MODEL}` }).click();
  const editor = page.getByRole('form', { name: `Features of ${MODEL}` });
  await editor.getByLabel('Sees images').setChecked(true);
  await editor.getByLabel('Calls tools').setChecked(false);
  await editor.getByLabel('Reasons (thinks)').setChecked(true);
  await editor.getByLabel('Context length (tokens)').fill('32768');
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await editor.scrollIntoViewIfNeeded();
    await shoot(page, `admin-overrides-${size.name}`);
  }
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(editor).toHaveCount(0);
  await expect(row).toContainText('set by an admin');
  await expect(row).toContainText('32,768 tokens');
  await expect(row.getByRole('cell').nth(1)).toHaveText(/^chat, (vision, reasoning|reasoning, vision)$/);

  const saved = (await (await page.request.get('/api/admin/connections')).json()) as {
    connections: { name: string; overrides: Record<string, { capabilities?: string[]; contextLength?: number }> }[];
  };
  const override = saved.connections.find((c) => c.name === NAME)!.overrides['gpt-4o-mini']!;
  expect(override.contextLength).toBe(32768);
  expect([...override.capabilities!].sort()).toEqual(['chat', 'reasoning', 'vision']);
  const models = (await (await page.request.get('/api/models')).json()) as { models: { id: string; capabilities: string[]; contextLength?: number }[] };
  const model = models.models.find((m) => m.id === MODEL)!;
  expect(model.contextLength).toBe(32768);
  expect(model.capabilities).toContain('vision');
  expect(model.capabilities).not.toContain('tools');

  await page.getByRole('button', { name: `Edit ${MODEL}` }).click();
  await page.getByRole('form', { name: `Features of ${MODEL}` }).getByRole('button', { name: "Use the server's values" }).click();
  await expect(row).not.toContainText('set by an admin');
  const after = (await (await page.request.get('/api/admin/connections')).json()) as typeof saved;
  expect(after.connections.find((c) => c.name === NAME)!.overrides).toEqual({});
});

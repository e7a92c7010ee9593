/**
 * End-to-end tests in Debian's Chromium against the built app and a real server
 * (tests/e2e/stack.ts: PostgreSQL, the fake provider, `bun server/index.ts`).
 * Run: `bun run build && bunx playwright test -c tests/e2e/playwright.config.ts`
 * (or `bun run test`, which runs everything). Screenshots land in tests/e2e/.artifacts/.
 */
import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 4321);
export const baseURL = `http://127.0.0.1:${port}`;

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: '../../test-results/e2e',
  fullyParallel: true,
  workers: Number(process.env.E2E_WORKERS ?? 2),
  retries: process.env.CI ? 1 : 0,
  timeout: 45_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: chromiumArgs },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    serviceWorkers: 'block',
  },
  // The fake speech provider's transcript and audio log are one for the whole stack, so the two
  // specs that steer it take turns (the second starts when the first is done); every other
  // spec runs beside them.
  projects: [
    { name: 'chromium', testIgnore: [/voice\.spec\.ts$/, /handsfree\.spec\.ts$/, /tools\.spec\.ts$/] },
    { name: 'voice', testMatch: /(^|\/)voice\.spec\.ts$/ },
    { name: 'hands-free', testMatch: /handsfree\.spec\.ts$/, dependencies: ['voice'] },
    // Its speech connection serves every call on the stack while it runs: after the voice specs.
    { name: 'tools', testMatch: /tools\.spec\.ts$/, dependencies: ['hands-free'] },
  ],
  webServer: {
    command: 'bun tests/e2e/stack.ts',
    cwd: '../..',
    // The stack's own readiness (server healthy and its admin account made): tests/e2e/stack.ts.
    url: `http://127.0.0.1:${port + 2}/__ready`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});

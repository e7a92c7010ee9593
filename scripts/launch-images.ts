/**
 * `bun scripts/launch-images.ts`: the iPhone launch images (apple-touch-startup-image), one per
 * screen size, drawn by Debian's Chromium: the app icon centred on the installed app's dark
 * surface (the manifest's background_color, so the splash matches the bar). Writes
 * web/static/icons/launch/<w>x<h>.png and prints the <link> tags for src/app.html.
 * Run again after changing the icon or adding a device.
 */
import { chromium } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '..');
const BACKGROUND = '#14151f';
/** CSS width × height (portrait) and pixel ratio of each iPhone screen size. */
export const SCREENS = [
  [375, 667, 2], // SE 2nd/3rd, 8
  [414, 736, 3], // 8 Plus
  [375, 812, 3], // X, XS, 11 Pro, 12 mini, 13 mini
  [414, 896, 2], // XR, 11
  [414, 896, 3], // XS Max, 11 Pro Max
  [390, 844, 3], // 12, 13, 14
  [428, 926, 3], // 12/13 Pro Max, 14 Plus
  [393, 852, 3], // 14 Pro, 15, 15 Pro, 16
  [430, 932, 3], // 14 Pro Max, 15 Plus, 15 Pro Max, 16 Plus
  [402, 874, 3], // 16 Pro
  [440, 956, 3], // 16 Pro Max
] as const;

const svg = readFileSync(join(root, 'web', 'static', 'favicon.svg'), 'utf8');
const out = join(root, 'web', 'static', 'icons', 'launch');
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const tags: string[] = [];
for (const [w, h, dpr] of SCREENS) {
  const page = await browser.newPage({ viewport: { width: w, height: h }, deviceScaleFactor: dpr });
  await page.setContent(
    `<body style="margin:0;height:100vh;display:grid;place-items:center;background:${BACKGROUND}">` +
      `<div style="width:96px;height:96px;border-radius:22px;overflow:hidden">${svg.replace('<svg ', '<svg width="96" height="96" ')}</div></body>`,
  );
  const name = `${w * dpr}x${h * dpr}.png`;
  await page.screenshot({ path: join(out, name) });
  await page.close();
  tags.push(
    `<link rel="apple-touch-startup-image" media="screen and (device-width: ${w}px) and (device-height: ${h}px) and (-webkit-device-pixel-ratio: ${dpr}) and (orientation: portrait)" href="/icons/launch/${name}" />`,
  );
}
await browser.close();
console.log(tags.join('\n'));

/** Rasterizes the icon sources into web/static/icons (run from anywhere). */
import { join } from 'node:path';

const here = import.meta.dir;
const out = join(here, '..', 'static', 'icons');
const jobs: [string, string, number][] = [
  ['mark.svg', 'icon-192.png', 192],
  ['mark.svg', 'icon-512.png', 512],
  ['maskable.svg', 'maskable-192.png', 192],
  ['maskable.svg', 'maskable-512.png', 512],
  ['apple-touch.svg', 'apple-touch-icon.png', 180],
  ['shortcut-chat.svg', 'shortcut-chat-96.png', 96],
  ['shortcut-call.svg', 'shortcut-call-96.png', 96],
  ['mark.svg', 'favicon-48.png', 48],
];
for (const [src, dest, size] of jobs) {
  const r = Bun.spawnSync(['rsvg-convert', '-w', String(size), '-h', String(size), join(here, src), '-o', join(out, dest)]);
  if (r.exitCode !== 0) throw new Error(`rsvg-convert ${src}: ${r.stderr}`);
  console.log(`${dest} (${size}px)`);
}

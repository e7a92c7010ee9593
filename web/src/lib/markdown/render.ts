/**
 * Markdown → HTML → DOMPurify (security items 2 and 3). Sanitizing happens after
 * rendering, on the final HTML, never before. No remote media loads, whatever the
 * syntax and whether or not the CSP is there (issue 11, defect 11): an image is kept
 * only when it resolves to data:, blob: or this origin (so `\\evil/x.png` and
 * `/\\evil/x.png`, which browsers read as another host, do not pass); other images
 * become a link the user may choose to open; `srcset`, `poster` and the media elements
 * themselves (video, audio, source, picture, track) are removed.
 * What marked is given is bounded first (bound.ts), and a block it fails on is plain text.
 */
import { Marked, type MarkedExtension, type Tokens } from 'marked';
import DOMPurify from 'dompurify';
import { markdownBlocks, type Block } from './bound';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const options: MarkedExtension = {
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    code({ text, lang }: Tokens.Code) {
      const language = (lang ?? '').trim().split(/\s+/)[0]!.toLowerCase().replace(/[^a-z0-9+#-]/g, '');
      return (
        `<div class="code-block"><div class="code-head"><span class="code-lang">${escapeHtml(language || 'code')}</span>` +
        `<button type="button" class="copy" aria-label="Copy code">Copy</button></div>` +
        `<pre><code class="language-${language || 'plaintext'}">${escapeHtml(text)}</code></pre></div>`
      );
    },
  },
};
const plain = new Marked(options);
/** The same renderer plus maths, once math.ts has loaded (see `loadMath`). */
let withMath: Marked | null = null;

/** Whether a text may hold maths worth loading KaTeX for: `$$`, `\[`, `\(`, or `$x$` (the same rules as math.ts's inline `$`). */
export function hasMath(source: string): boolean {
  return /\$\$|\\\[|\\\(|\$(?![\s$])(?:\\.|[^\\$\n])+?(?<!\s)\$(?!\d)/.test(source);
}

/** Loads the maths extension (a lazy chunk) once; later renders with maths use it. */
export async function loadMath(): Promise<void> {
  if (withMath) return;
  const { mathExtension } = await import('./math');
  withMath ??= new Marked(options, mathExtension);
}

export const mathLoaded = () => withMath !== null;

let hooked = false;
function installHooks() {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    // Code and tables scroll sideways on their own: keyboard users must reach them.
    if (node.tagName === 'PRE' || node.tagName === 'TABLE') node.setAttribute('tabindex', '0');
    // Task lists: the only input allowed is a checkbox that shows, never takes, a state.
    if (node.tagName === 'INPUT') {
      if (node.getAttribute('type') !== 'checkbox') node.remove();
      else {
        for (const a of [...node.attributes]) if (a.name !== 'type' && a.name !== 'checked') node.removeAttribute(a.name);
        node.setAttribute('disabled', '');
        node.setAttribute('aria-label', node.hasAttribute('checked') ? 'Done' : 'Not done');
      }
    }
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
    if (node.tagName === 'IMG') {
      const src = node.getAttribute('src') ?? '';
      if (!isLocalMedia(src)) {
        const link = document.createElement('a');
        link.textContent = `Image: ${node.getAttribute('alt') || 'remote image'} (not loaded)`;
        link.className = 'blocked-image';
        if (/^https?:\/\//i.test(src)) {
          link.setAttribute('href', src);
          link.setAttribute('target', '_blank');
          link.setAttribute('rel', 'noopener noreferrer nofollow');
          link.setAttribute('title', src);
        }
        node.replaceWith(link);
      }
    }
  });
}

/** Whether an image source stays on this device or origin: data:image, blob:, or a same-origin URL. */
export function isLocalMedia(src: string): boolean {
  const trimmed = src.trim();
  if (/^data:image\//i.test(trimmed) || /^blob:/i.test(trimmed)) return true;
  if (!trimmed || /^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return false; // another scheme
  try {
    // Resolved as the browser would: backslashes are slashes, so "/\\evil" is another host.
    return new URL(trimmed, location.origin).origin === location.origin;
  } catch {
    return false;
  }
}

const SANITIZE = {
  USE_PROFILES: { html: true, mathMl: true },
  // No data-* from content: the app finds messages by data-role and data-status.
  ALLOW_DATA_ATTR: false,
  FORBID_TAGS: [
    'style', 'form', 'textarea', 'select', 'option', 'dialog', 'template', 'maction',
    // Media that would load by itself: never from a reply.
    'video', 'audio', 'source', 'picture', 'track', 'embed', 'object', 'iframe', 'image', 'link', 'meta', 'base',
  ],
  FORBID_ATTR: ['style', 'autofocus', 'tabindex', 'srcset', 'poster', 'background', 'lowsrc', 'dynsrc', 'longdesc', 'ping', 'xlink:href'],
  ADD_ATTR: ['target'],
};

/**
 * Text shown as typed (the fallback when Markdown is too costly or fails), in pieces of
 * about PLAIN_PIECE characters cut at a line end or a space where there is one: the
 * browser then lays out and shapes only the pieces on screen (content-visibility in
 * app.css), not tens of thousands of characters at each change.
 */
const PLAIN_PIECE = 1000;
export function plainHtml(text: string): string {
  const pieces: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + PLAIN_PIECE);
    if (end < text.length) {
      const newline = text.lastIndexOf('\n', end);
      const space = text.lastIndexOf(' ', end);
      const cut = newline > at + PLAIN_PIECE / 2 ? newline : space > at + PLAIN_PIECE / 2 ? space : -1;
      if (cut > 0) end = cut + 1;
    }
    pieces.push(`<p class="plain-text">${escapeHtml(text.slice(at, end))}</p>`);
    at = end;
  }
  return pieces.join('') || '<p class="plain-text"></p>';
}

/** One block's HTML, sanitized; cached by text, since a streamed reply asks for the same blocks again. */
const cache = new Map<string, string>();
const CACHE_MAX = 400;
function cached(key: string, make: () => string): string {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const html = make();
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, html);
  return html;
}

export function renderBlock(block: Block): string {
  if (!block.markdown) return pendingHtml(block);
  const renderer = withMath && hasMath(block.text) ? withMath : plain;
  return cached((renderer === plain ? 'p' : 'm') + block.text, () => {
    installHooks();
    try {
      return DOMPurify.sanitize(renderer.parse(block.text) as string, SANITIZE) as string;
    } catch {
      return plainHtml(block.text); // the renderer failed (e.g. its stack): show the text
    }
  });
}

/** A block as plain text (cached too: a long streamed reply asks for the same ones again). */
export function pendingHtml(block: Block): string {
  return cached('t' + block.text, () => plainHtml(block.text));
}

/**
 * Each render step's main-thread time, as a User Timing measure `parley:markdown` (seen in
 * the browser's performance tools, and read by the e2e test of hostile replies). The
 * buffer is cleared now and then so a long session does not keep them all.
 */
let measures = 0;
export function noteRenderTime(startedAt: number) {
  if (typeof performance.measure !== 'function') return;
  if (++measures > 1000) {
    performance.clearMeasures('parley:markdown');
    measures = 1;
  }
  performance.measure('parley:markdown', { start: startedAt, end: performance.now() });
}

/** The whole text at once (bounded per block, as in the app). */
export function renderMarkdown(source: string): string {
  return markdownBlocks(source).map(renderBlock).join('');
}

/**
 * Markdown → HTML → DOMPurify (security items 2 and 3). Sanitizing happens after
 * rendering, on the final HTML, never before. No remote media loads, whatever the
 * syntax and whether or not the CSP is there (issue 11, defect 11): an image is kept
 * only when it resolves to data:, blob: or this origin (so `\\evil/x.png` and
 * `/\\evil/x.png`, which browsers read as another host, do not pass); other images
 * become a link the user may choose to open; `srcset`, `poster` and the media elements
 * themselves (video, audio, source, picture, track) are removed.
 * What marked is given is bounded first (bound.ts), and a block it fails on is plain text.
 * A block with no Markdown syntax skips marked and DOMPurify (plain.ts's `simpleHtml`, all
 * text escaped): the same HTML the first paint showed before this module loaded.
 *
 * This module is a lazy chunk (LAZY in web/vite.config.ts): Markdown.svelte imports it
 * once a text needs it, and shows plain.ts's `quickHtml` until then.
 */
import { Marked, type MarkedExtension, type Tokens } from 'marked';
import DOMPurify from 'dompurify';
import { markdownBlocks, type Block } from './bound';
import { cached, escapeHtml, hasMath, pendingHtml, plainHtml, provideRenderer, simpleHtml } from './plain';

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

export function renderBlock(block: Block): string {
  if (!block.markdown) return pendingHtml(block);
  const renderer = withMath && hasMath(block.text) ? withMath : plain;
  return cached((renderer === plain ? 'p' : 'm') + block.text, () => {
    const simple = simpleHtml(block.text);
    if (simple !== null) return simple;
    installHooks();
    try {
      return DOMPurify.sanitize(renderer.parse(block.text) as string, SANITIZE) as string;
    } catch {
      return plainHtml(block.text); // the renderer failed (e.g. its stack): show the text
    }
  });
}

/** The whole text at once (bounded per block, as in the app). */
export function renderMarkdown(source: string): string {
  return markdownBlocks(source).map(renderBlock).join('');
}

provideRenderer({ renderBlock, loadMath, mathLoaded });

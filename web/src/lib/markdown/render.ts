/**
 * Markdown → HTML → DOMPurify (security items 2 and 3). Sanitizing happens after
 * rendering, on the final HTML, never before. Remote images are not loaded (the CSP
 * would refuse them anyway): they become a link the user may choose to open.
 */
import { Marked, type MarkedExtension, type Tokens } from 'marked';
import DOMPurify from 'dompurify';

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
      const local = /^(data:image\/|blob:)/i.test(src) || (src.startsWith('/') && !src.startsWith('//'));
      if (!local) {
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

export function renderMarkdown(source: string): string {
  installHooks();
  const html = ((withMath && hasMath(source) ? withMath : plain).parse(source) as string);
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true, mathMl: true },
    // No data-* from content: the app finds messages by data-role and data-status.
    ALLOW_DATA_ATTR: false,
    FORBID_TAGS: ['style', 'form', 'textarea', 'select', 'option', 'dialog', 'template', 'maction'],
    FORBID_ATTR: ['style', 'autofocus', 'tabindex'],
    ADD_ATTR: ['target'],
  });
}

/**
 * GET /s/:code: the SPA shell (which renders the share from /api/shares/:code),
 * with the thread's title and opening words in Open Graph tags so a pasted link
 * previews well in messengers. Every value is HTML-escaped: a title such as
 * `"><script>` stays text. Unknown or revoked codes get the shell with status 404.
 * Never cached (a revoked link must stop working at once), never indexed, and the
 * code in the URL is not sent onward as a Referer.
 */
import { acceptsGzip } from '../http/compress';
import { CSP } from '../http/security';
import { loadShell } from '../web';
import type { Snapshot } from './model';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const DESCRIPTION_CHARS = 200;

/** The first message's words, whitespace collapsed, cut at a word boundary. */
export function describeSnapshot(snapshot: Snapshot): string {
  const first = snapshot.messages.find((m) => m.content.trim());
  const text = (first?.content ?? '').replace(/\s+/g, ' ').trim();
  if (text.length <= DESCRIPTION_CHARS) return text || 'A conversation shared from Parley';
  const cut = text.slice(0, DESCRIPTION_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${(space > DESCRIPTION_CHARS * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export interface PageShare {
  code: string;
  url: string;
  snapshot: Snapshot;
  /** Absolute URL of the first image, for og:image. */
  imageUrl: string | null;
}

function metaTags(share: PageShare | null): { title: string; tags: string } {
  const robots = '<meta name="robots" content="noindex, nofollow">';
  if (!share) return { title: 'Share not found · Parley', tags: robots };
  const title = share.snapshot.thread.title.trim() || 'Shared conversation';
  const description = describeSnapshot(share.snapshot);
  const tags = [
    robots,
    `<meta name="description" content="${escapeHtml(description)}">`,
    '<meta property="og:type" content="article">',
    '<meta property="og:site_name" content="Parley">',
    `<meta property="og:title" content="${escapeHtml(title)}">`,
    `<meta property="og:description" content="${escapeHtml(description)}">`,
    `<meta property="og:url" content="${escapeHtml(share.url)}">`,
    ...(share.imageUrl ? [`<meta property="og:image" content="${escapeHtml(share.imageUrl)}">`] : []),
    `<meta name="twitter:card" content="${share.imageUrl ? 'summary_large_image' : 'summary'}">`,
    `<meta name="twitter:title" content="${escapeHtml(title)}">`,
    `<meta name="twitter:description" content="${escapeHtml(description)}">`,
  ].join('\n    ');
  return { title: `${title} · Parley`, tags };
}

/** The shell with the tags in <head>; replacers are functions so `$&` in a title stays literal. */
export function injectHead(html: string, title: string, tags: string): string {
  const titleTag = `<title>${escapeHtml(title)}</title>`;
  // The shell's generic description and any preview tags of its own give way to the share's.
  let out = html.replace(/[ \t]*<meta\s+(?:name="(?:description|twitter:[^"]*)"|property="og:[^"]*")[^>]*>\s*?\n?/gi, '');
  out = /<title>[\s\S]*?<\/title>/i.test(out)
    ? out.replace(/<title>[\s\S]*?<\/title>/i, () => titleTag)
    : out.replace(/<head[^>]*>/i, (head) => `${head}\n    ${titleTag}`);
  out = /<\/head>/i.test(out) ? out.replace(/<\/head>/i, () => `    ${tags}\n  </head>`) : `${tags}\n${out}`;
  return out;
}

const FALLBACK = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Parley</title>
  </head>
  <body><p>This conversation is shown by the Parley web app, which is not built on this server yet.</p></body>
</html>`;

/**
 * The page, gzipped when the browser takes it: the shell carries the app's stylesheet (about
 * 34 KB in all), and this page is made per share, so it is compressed per request (about a
 * millisecond; brotli at its best level would take far longer).
 */
export function sharePageResponse(share: PageShare | null, request: Request): Response {
  const shell = loadShell();
  const { title, tags } = metaTags(share);
  const html = injectHead(shell?.html ?? FALLBACK, title, tags);
  const gzip = acceptsGzip(request);
  return new Response(gzip ? Bun.gzipSync(html) : html, {
    status: share ? 200 : 404,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': shell?.csp ?? CSP,
      'referrer-policy': 'no-referrer',
      'x-robots-tag': 'noindex, nofollow',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    },
  });
}

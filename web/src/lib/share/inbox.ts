/**
 * Parley in the share sheet (the manifest's `share_target`): the browser POSTs what another
 * app shares (title, text, url, images) to /share; the service worker keeps it in a cache of
 * its own and opens a new chat (`/?new=1&share=<id>`), whose page takes it out (once) into the
 * composer: the text ready to send, the images attached. The worker does it, so it works
 * offline too (the message then waits in the outbox like any other).
 */
export const SHARE_PATH = '/share';
const CACHE = 'parley-share';
const MAX_FILES = 8;

interface Stored {
  text: string;
  files: { name: string; type: string }[];
}

/** Title, text and link as one message (a link already in the text is not repeated). */
export function sharedText(title: string, text: string, url: string): string {
  const parts = [title.trim(), text.trim()].filter(Boolean);
  const body = parts.length === 2 && parts[1]!.includes(parts[0]!) ? [parts[1]!] : parts;
  if (url.trim() && !body.some((p) => p.includes(url.trim()))) body.push(url.trim());
  return body.join('\n');
}

const field = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
};

/** The worker's side: keeps the share and answers with the new chat to open. */
export async function receiveShare(request: Request): Promise<Response> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return Response.redirect('/?new=1', 303);
  }
  const id = crypto.randomUUID();
  const files = form
    .getAll('images')
    .filter((f): f is File => typeof f !== 'string' && f.type.startsWith('image/') && f.size > 0)
    .slice(0, MAX_FILES);
  const stored: Stored = {
    text: sharedText(field(form, 'title'), field(form, 'text'), field(form, 'url')),
    files: files.map((f) => ({ name: f.name || 'image', type: f.type })),
  };
  const cache = await caches.open(CACHE);
  await Promise.all(files.map((f, i) => cache.put(`/__share/${id}/${i}`, new Response(f, { headers: { 'content-type': f.type } }))));
  await cache.put(`/__share/${id}`, new Response(JSON.stringify(stored), { headers: { 'content-type': 'application/json' } }));
  return Response.redirect(`/?new=1&share=${id}`, 303);
}

/** The page's side: the shared text and images, taken out of the cache (null when absent). */
export async function takeShare(id: string): Promise<{ text: string; files: File[] } | null> {
  if (typeof caches === 'undefined' || !/^[0-9a-f-]{36}$/.test(id)) return null;
  const cache = await caches.open(CACHE);
  const meta = await cache.match(`/__share/${id}`);
  if (!meta) return null;
  const stored = (await meta.json()) as Stored;
  const files: File[] = [];
  for (const [i, f] of stored.files.entries()) {
    const res = await cache.match(`/__share/${id}/${i}`);
    if (res) files.push(new File([await res.blob()], f.name, { type: f.type }));
    await cache.delete(`/__share/${id}/${i}`);
  }
  await cache.delete(`/__share/${id}`);
  return { text: stored.text, files };
}

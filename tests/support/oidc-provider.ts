/**
 * A real OpenID Provider for the tests: panva's `oidc-provider` (certified), on a loopback
 * port, with one confidential client and a table of accounts. Its development login and
 * consent pages accept any login name; the account's claims come from `accounts`.
 *
 * `forgeIdTokens` makes the token endpoint hand out an ID token re-signed by a key that is
 * not in the provider's JWKS (same header, same claims): what a relying party must refuse.
 * It is a Koa middleware of the provider itself, so everything else stays the real thing.
 *
 * `signInThrough` is a tiny cookie-keeping user agent for the server tests: it follows the
 * redirects from Parley's start route through the provider's real login and consent forms
 * and back, and records each hop (the sequence the README and the note describe).
 */
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, SignJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import type { Server } from 'node:http';
import { freePort } from './ports';

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Record<string, TestAccount>;
  forgeIdTokens: boolean;
  stop(): Promise<void>;
}

export async function startOidcProvider(options: { redirectUris: string[]; port?: number; host?: string }): Promise<TestOidcProvider> {
  const port = options.port ?? (await freePort());
  const issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const signing = await generateKeyPair('RS256', { extractable: true });
  const attacker = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(signing.privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const state: TestOidcProvider = {
    issuer,
    clientId: 'parley-test',
    clientSecret: 'parley-test-secret-' + crypto.randomUUID(),
    accounts: {},
    forgeIdTokens: false,
    stop: async () => {},
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: state.clientId,
        client_secret: state.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc-test-cookie-key-' + crypto.randomUUID()] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, ...(state.accounts[id] ?? {}) }),
    }),
  } as never);
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (state.forgeIdTokens && ctx.path === '/token' && body && typeof body.id_token === 'string') {
      const header = decodeProtectedHeader(body.id_token);
      const claims = decodeJwt(body.id_token);
      body.id_token = await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256' }).sign(attacker.privateKey);
    }
  });
  const server = provider.listen(port, options.host ?? '127.0.0.1') as unknown as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  state.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

export interface Hop {
  method: string;
  url: string;
  status: number;
  location: string | null;
}

/** Cookies per host (name → value), enough for the provider's and Parley's cookies. */
export class CookieJar {
  #byHost = new Map<string, Map<string, string>>();
  header(url: URL) {
    const jar = this.#byHost.get(url.host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }
  store(url: URL, response: Response) {
    let jar = this.#byHost.get(url.host);
    if (!jar) this.#byHost.set(url.host, (jar = new Map()));
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }
  get(host: string, name: string) {
    return this.#byHost.get(host)?.get(name);
  }
  set(host: string, name: string, value: string) {
    let jar = this.#byHost.get(host);
    if (!jar) this.#byHost.set(host, (jar = new Map()));
    jar.set(name, value);
  }
}

/** One request with the jar's cookies, no redirect following; records the hop. */
export async function step(jar: CookieJar, hops: Hop[], url: string, init: RequestInit = {}) {
  const target = new URL(url);
  const headers = new Headers(init.headers);
  const cookie = jar.header(target);
  if (cookie) headers.set('cookie', cookie);
  const response = await fetch(target, { ...init, headers, redirect: 'manual' });
  jar.store(target, response);
  const location = response.headers.get('location');
  hops.push({ method: init.method ?? 'GET', url: target.href, status: response.status, location: location ? new URL(location, target).href : null });
  return { response, location: location ? new URL(location, target).href : null };
}

/** Follows redirects from `url`; at the provider's login and consent forms, submits them. */
export async function signInThrough(
  jar: CookieJar,
  url: string,
  login: string,
  options: { stopAt?: (url: URL) => boolean } = {},
): Promise<{ hops: Hop[]; final: string; response: Response }> {
  const hops: Hop[] = [];
  let next: string | null = url;
  let init: RequestInit = {};
  for (let i = 0; i < 20 && next; i++) {
    if (options.stopAt?.(new URL(next))) return { hops, final: next, response: new Response(null) };
    const { response, location } = await step(jar, hops, next, init);
    init = {};
    if (location) {
      await response.body?.cancel();
      next = location;
      continue;
    }
    const html = response.headers.get('content-type')?.includes('text/html') ? await response.text() : '';
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (action && prompt) {
      next = new URL(action.replace(/&amp;/g, '&'), next).href;
      const form: Record<string, string> = prompt === "login" ? { prompt, login, password: "any" } : { prompt };
      init = { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      continue;
    }
    return { hops, final: next, response };
  }
  return { hops, final: next ?? url, response: new Response(null) };
}

/**
 * Parses the environment once into a frozen, grouped object.
 * Nothing else in the server reads process.env: everything configurable is here,
 * validated with one TypeBox schema so a bad value stops start-up with a list of
 * every bad variable and what it should look like.
 */
import { Type as T, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseTrustProxy } from './http/client';

const Bool = T.Union([T.Literal('true'), T.Literal('false'), T.Literal('1'), T.Literal('0')], {
  description: 'true or false',
});
const Url = T.String({ pattern: '^https?://[^\\s/$.?#][^\\s]*$', description: 'an http(s) URL' });

const EnvSchema = T.Object({
  PORT: T.Optional(T.String({ pattern: '^[0-9]{1,5}$', description: 'a port number (0-65535)' })),
  HOST: T.Optional(T.String({ minLength: 1, description: 'a bind address such as 0.0.0.0' })),
  PUBLIC_URL: T.Optional(Url),
  DATABASE_URL: T.Optional(
    T.String({ pattern: '^postgres(ql)?://', description: 'a postgres:// or postgresql:// URL' }),
  ),
  DATA_DIR: T.Optional(T.String({ minLength: 1, description: 'a directory path' })),
  APP_SECRET: T.Optional(T.String({ minLength: 32, description: 'at least 32 characters' })),
  MISTRAL_API_KEY: T.Optional(T.String({ minLength: 1 })),
  MISTRAL_SERVER_URL: T.Optional(Url),
  OPENAI_API_KEY: T.Optional(T.String({ minLength: 1 })),
  OPENAI_BASE_URL: T.Optional(Url),
  DEFAULT_MODEL: T.Optional(
    T.String({ pattern: '^(mistral|openai):.+', description: 'a model id such as mistral:mistral-small-latest' }),
  ),
  STT_PROVIDER: T.Optional(
    T.Union([T.Literal('openai'), T.Literal('mistral'), T.Literal('none')], {
      description: 'openai, mistral or none',
    }),
  ),
  TTS_PROVIDER: T.Optional(
    T.Union([T.Literal('openai'), T.Literal('mistral'), T.Literal('espeak'), T.Literal('none')], {
      description: 'openai, mistral, espeak or none',
    }),
  ),
  IMAGE_PROVIDER: T.Optional(
    T.Union([T.Literal('openai'), T.Literal('mistral'), T.Literal('none')], {
      description: 'openai, mistral or none',
    }),
  ),
  SEARCH_PROVIDER: T.Optional(T.Union([T.Literal('searxng'), T.Literal('none')], { description: 'searxng or none' })),
  SEARXNG_URL: T.Optional(Url),
  TOOL_MAX_ROUNDS: T.Optional(T.String({ pattern: '^[1-9][0-9]?$', description: 'an integer from 1 to 99' })),
  TOOL_TIMEOUT_MS: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'milliseconds (above 0)' })),
  TOOL_APPROVAL_TIMEOUT_MS: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'milliseconds (above 0)' })),
  ALLOW_REGISTRATION: T.Optional(Bool),
  INTEGRATION_SECRET: T.Optional(T.String({ minLength: 32, description: 'at least 32 characters' })),
  TRUST_PROXY: T.Optional(
    T.String({ minLength: 1, description: 'false, true (one proxy), a hop count, or a comma-separated list of proxy addresses/CIDRs' }),
  ),
  AUTH_IP_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  AUTH_ACCOUNT_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  ROOM_MESSAGE_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  SEARCH_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  IMPORT_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  PROVIDER_TIMEOUT_MS: T.Optional(T.String({ pattern: '^[0-9]+$', description: 'milliseconds' })),
  VOICE_TIMEOUT_MS: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'milliseconds (above 0)' })),
  BLOB_STORE: T.Optional(
    T.Union([T.Literal('directory'), T.Literal('postgres'), T.Literal('s3')], {
      description: 'directory, postgres or s3',
    }),
  ),
  S3_ENDPOINT: T.Optional(Url),
  S3_BUCKET: T.Optional(T.String({ minLength: 1, description: 'a bucket name' })),
  S3_ACCESS_KEY_ID: T.Optional(T.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: T.Optional(T.String({ minLength: 1 })),
  S3_REGION: T.Optional(T.String({ minLength: 1, description: 'a region such as us-east-1' })),
  VAPID_PUBLIC_KEY: T.Optional(T.String({ pattern: '^[A-Za-z0-9_-]{80,100}$', description: 'a base64url P-256 public key' })),
  VAPID_PRIVATE_KEY: T.Optional(T.String({ pattern: '^[A-Za-z0-9_-]{40,50}$', description: 'a base64url P-256 private key' })),
  PUSH_ALLOWED_HOSTS: T.Optional(
    T.String({ pattern: '^[A-Za-z0-9.:\\[\\]-]+(,[A-Za-z0-9.:\\[\\]-]+)*$', description: 'comma-separated host[:port] names' }),
  ),
  ALLOW_GUESTS: T.Optional(Bool),
  OIDC_ISSUER: T.Optional(Url),
  OIDC_CLIENT_ID: T.Optional(T.String({ minLength: 1 })),
  OIDC_CLIENT_SECRET: T.Optional(T.String({ minLength: 1 })),
  OIDC_NAME: T.Optional(T.String({ minLength: 1, maxLength: 60 })),
  GOOGLE_CLIENT_ID: T.Optional(T.String({ minLength: 1 })),
  GOOGLE_CLIENT_SECRET: T.Optional(T.String({ minLength: 1 })),
  SMTP_URL: T.Optional(T.String({ pattern: '^smtps?://', description: 'an smtp:// or smtps:// URL' })),
  SMTP_FROM: T.Optional(T.String({ minLength: 3, maxLength: 200 })),
  LOG_LEVEL: T.Optional(
    T.Union([T.Literal('debug'), T.Literal('info'), T.Literal('warn'), T.Literal('error'), T.Literal('silent')], {
      description: 'debug, info, warn, error or silent',
    }),
  ),
});
export type Env = Static<typeof EnvSchema>;

/** An identity provider configured by the environment (`oidc`, `google`); admins add more. */
export interface EnvOidcProvider {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
}

/** An `http://` issuer only on a loopback address (a local identity provider, the tests). */
export function issuerAllowed(issuer: string): boolean {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function oidcEnvProblems(e: Record<string, string>): string[] {
  const problems: string[] = [];
  if (e.OIDC_ISSUER && !issuerAllowed(e.OIDC_ISSUER)) {
    problems.push(`OIDC_ISSUER: got ${JSON.stringify(e.OIDC_ISSUER)}, expected an https URL (http only on a loopback address)`);
  }
  if (e.OIDC_ISSUER && !e.OIDC_CLIENT_ID) problems.push('OIDC_CLIENT_ID: missing, expected the client id OIDC_ISSUER issued');
  if (e.GOOGLE_CLIENT_ID && !e.GOOGLE_CLIENT_SECRET) problems.push('GOOGLE_CLIENT_SECRET: missing, expected Google\'s client secret');
  return problems;
}

function envOidcProviders(e: Env): EnvOidcProvider[] {
  const list: EnvOidcProvider[] = [];
  if (e.OIDC_ISSUER && e.OIDC_CLIENT_ID) {
    list.push({
      id: 'oidc',
      name: e.OIDC_NAME ?? 'single sign-on',
      issuer: e.OIDC_ISSUER,
      clientId: e.OIDC_CLIENT_ID,
      clientSecret: e.OIDC_CLIENT_SECRET ?? null,
    });
  }
  if (e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET) {
    list.push({
      id: 'google',
      name: 'Google',
      issuer: 'https://accounts.google.com',
      clientId: e.GOOGLE_CLIENT_ID,
      clientSecret: e.GOOGLE_CLIENT_SECRET,
    });
  }
  return list;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const truthy = (v: string | undefined, fallback: boolean) =>
  v === undefined ? fallback : v === 'true' || v === '1';

function isEspeakInstalled(): boolean {
  return Bun.which('espeak-ng') !== null;
}

/** The secret is generated once with a CSPRNG and kept in DATA_DIR (mode 0600). */
function loadOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, 'app-secret');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 32) return stored;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(48));
  const secret = Buffer.from(bytes).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/**
 * DATA_DIR holds the secret, the embedded database and uploaded files: its owner's only.
 * The directory is made (or narrowed to) 0700, so nothing in it is reachable by another
 * user; server/index.ts also sets the umask, so what the server creates is 0600/0700 too.
 */
function secureDataDir(dataDir: string) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dataDir, 0o700);
  } catch {
    // Not ours to change (a mount owned by someone else): the umask still covers new files.
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  // Only the variables we know are validated; empty strings count as unset.
  const picked: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const problems: string[] = [];
  for (const err of Value.Errors(EnvSchema, picked)) {
    const name = err.path.replace(/^\//, '');
    const expected = (err.schema as { description?: string }).description ?? err.message;
    const line = `${name}: got ${JSON.stringify(picked[name])}, expected ${expected}`;
    if (!problems.includes(line)) problems.push(line);
  }
  const port = Number(picked.PORT ?? '3000');
  if (picked.PORT && port > 65535) problems.push(`PORT: got ${picked.PORT}, expected a port number (0-65535)`);
  if (picked.BLOB_STORE === 's3') {
    for (const name of ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
      if (!picked[name]) problems.push(`${name}: missing, needed with BLOB_STORE=s3`);
    }
  }
  if (picked.BLOB_STORE === 'postgres' && !picked.DATABASE_URL) {
    problems.push('BLOB_STORE: got "postgres", which needs DATABASE_URL (use directory with the embedded database)');
  }
  if (Boolean(picked.VAPID_PUBLIC_KEY) !== Boolean(picked.VAPID_PRIVATE_KEY)) {
    problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY: set both or neither');
  }
  const trustProxy = parseTrustProxy(picked.TRUST_PROXY);
  if (!trustProxy) {
    problems.push(
      `TRUST_PROXY: got ${JSON.stringify(picked.TRUST_PROXY)}, expected false, true (one proxy), a hop count, or a comma-separated list of proxy addresses/CIDRs`,
    );
  }
  problems.push(...oidcEnvProblems(picked));
  if (problems.length) throw new ConfigError(problems);

  const e = picked as Env;
  const dataDir = resolve(e.DATA_DIR ?? './data');
  secureDataDir(dataDir);
  const publicUrl = new URL(e.PUBLIC_URL ?? `http://localhost:${port}`);

  const hasOpenAI = Boolean(e.OPENAI_API_KEY || e.OPENAI_BASE_URL);
  const hasMistral = Boolean(e.MISTRAL_API_KEY || e.MISTRAL_SERVER_URL);
  const stt = e.STT_PROVIDER ?? (hasOpenAI ? 'openai' : hasMistral ? 'mistral' : 'none');
  const tts = e.TTS_PROVIDER ?? (hasOpenAI ? 'openai' : isEspeakInstalled() ? 'espeak' : 'none');
  const image = e.IMAGE_PROVIDER ?? (hasOpenAI ? 'openai' : 'none');

  return Object.freeze({
    http: Object.freeze({
      port,
      host: e.HOST ?? '0.0.0.0',
      publicUrl: publicUrl.origin,
      secureCookies: publicUrl.protocol === 'https:',
      trustProxy: trustProxy!,
    }),
    db: Object.freeze({ url: e.DATABASE_URL ?? null, dataDir }),
    dataDir,
    // Where file bytes live: with a database server, in it by default, so any instance serves any file.
    files: Object.freeze({
      store: e.BLOB_STORE ?? (e.DATABASE_URL ? 'postgres' : 'directory'),
      s3:
        e.BLOB_STORE === 's3'
          ? Object.freeze({
              endpoint: e.S3_ENDPOINT!,
              bucket: e.S3_BUCKET!,
              accessKeyId: e.S3_ACCESS_KEY_ID!,
              secretAccessKey: e.S3_SECRET_ACCESS_KEY!,
              region: e.S3_REGION ?? 'us-east-1',
            })
          : null,
    }),
    auth: Object.freeze({
      secret: e.APP_SECRET ?? loadOrCreateSecret(dataDir),
      allowRegistration: truthy(e.ALLOW_REGISTRATION, true),
      accessTtlSeconds: 15 * 60,
      refreshIdleSeconds: 30 * 24 * 3600,
      sessionMaxSeconds: 90 * 24 * 3600,
      // Sign-in/registration attempts per IP per 10 minutes, and per account per 5 minutes.
      // The account window is short so an attacker cannot lock a real user out for long.
      ipLimit: Number(e.AUTH_IP_LIMIT ?? '30'),
      // Per account and client (or per known device), per window; a looser account-wide
      // ceiling counts only unknown devices, so it never locks the owner's own devices out.
      accountLimit: Number(e.AUTH_ACCOUNT_LIMIT ?? '10'),
      // Messages each member may post in rooms per minute.
      roomMessageLimit: Number(e.ROOM_MESSAGE_LIMIT ?? '20'),
      accountWindowSeconds: 300,
      accountCeiling: 5 * Number(e.AUTH_ACCOUNT_LIMIT ?? '10'),
      accountCeilingWindowSeconds: 900,
      // Current-password checks (password change, account deletion) per account per 15 minutes.
      passwordCheckLimit: 5,
      // A rotated refresh token presented again within this time (two tabs) yields the same session.
      refreshGraceSeconds: 10,
      // Deleting the account without the password: only this soon after signing in.
      freshSignInSeconds: 300,
    }),
    ai: Object.freeze({
      mistral: hasMistral ? { apiKey: e.MISTRAL_API_KEY ?? null, serverURL: e.MISTRAL_SERVER_URL ?? null } : null,
      openai: hasOpenAI ? { apiKey: e.OPENAI_API_KEY ?? null, baseURL: e.OPENAI_BASE_URL ?? null } : null,
      defaultModel: e.DEFAULT_MODEL ?? null,
      timeoutMs: Number(e.PROVIDER_TIMEOUT_MS ?? '60000'),
    }),
    // How long a speech provider (or the local espeak-ng) may take before the client gets a 504.
    voice: Object.freeze({ stt, tts, timeoutMs: Number(e.VOICE_TIMEOUT_MS ?? '30000') }),
    images: Object.freeze({ provider: image }),
    // Per user: searches per minute (as-you-type, debounced, makes a few a second at most)
    // and imports per hour (each up to 100 MB of parsing and writing).
    library: Object.freeze({ searchPerMinute: Number(e.SEARCH_LIMIT ?? '120'), importsPerHour: Number(e.IMPORT_LIMIT ?? '10') }),
    // Web Push: VAPID keys from the environment (both or neither) or generated into DATA_DIR
    // by server/push/vapid.ts; push endpoints on these hosts may be private or plain http.
    push: Object.freeze({
      vapid: e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY } : null,
      allowedHosts: (e.PUSH_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    }),
    // Server-to-server account provisioning (HS256 tokens signed with this); off when unset.
    integration: Object.freeze({ secret: e.INTEGRATION_SECRET ?? null }),
    // Tools the model may call: web search (SearXNG's JSON API) and the admin's MCP servers.
    tools: Object.freeze({
      search: (e.SEARCH_PROVIDER ?? (e.SEARXNG_URL ? 'searxng' : 'none')) === 'searxng' && e.SEARXNG_URL ? { searxngUrl: e.SEARXNG_URL } : null,
      maxRounds: Number(e.TOOL_MAX_ROUNDS ?? '5'),
      timeoutMs: Number(e.TOOL_TIMEOUT_MS ?? '30000'),
      approvalTimeoutMs: Number(e.TOOL_APPROVAL_TIMEOUT_MS ?? '120000'),
    }),
    logLevel: e.LOG_LEVEL ?? 'info',
    signin: Object.freeze({ allowGuests: truthy(e.ALLOW_GUESTS, false), providers: Object.freeze(envOidcProviders(e)) }),
    // "Forgot password" emails; without SMTP_URL only the admin's one-time links reset passwords.
    mail: Object.freeze({ smtpUrl: e.SMTP_URL ?? null, from: e.SMTP_FROM ?? `Parley <parley@${publicUrl.hostname}>` }),
  });
}

export type Config = ReturnType<typeof loadConfig>;

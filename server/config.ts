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
  TRUST_PROXY: T.Optional(Bool),
  AUTH_IP_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  AUTH_ACCOUNT_LIMIT: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'a positive integer' })),
  PROVIDER_TIMEOUT_MS: T.Optional(T.String({ pattern: '^[0-9]+$', description: 'milliseconds' })),
  VOICE_TIMEOUT_MS: T.Optional(T.String({ pattern: '^[1-9][0-9]*$', description: 'milliseconds (above 0)' })),
  LOG_LEVEL: T.Optional(
    T.Union([T.Literal('debug'), T.Literal('info'), T.Literal('warn'), T.Literal('error'), T.Literal('silent')], {
      description: 'debug, info, warn, error or silent',
    }),
  ),
});
export type Env = Static<typeof EnvSchema>;

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
  if (problems.length) throw new ConfigError(problems);

  const e = picked as Env;
  const dataDir = resolve(e.DATA_DIR ?? './data');
  mkdirSync(dataDir, { recursive: true });
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
      trustProxy: truthy(e.TRUST_PROXY, false),
    }),
    db: Object.freeze({ url: e.DATABASE_URL ?? null, dataDir }),
    dataDir,
    auth: Object.freeze({
      secret: e.APP_SECRET ?? loadOrCreateSecret(dataDir),
      allowRegistration: truthy(e.ALLOW_REGISTRATION, true),
      accessTtlSeconds: 15 * 60,
      refreshIdleSeconds: 30 * 24 * 3600,
      sessionMaxSeconds: 90 * 24 * 3600,
      // Sign-in/registration attempts per IP per 10 minutes, and per account per 5 minutes.
      // The account window is short so an attacker cannot lock a real user out for long.
      ipLimit: Number(e.AUTH_IP_LIMIT ?? '30'),
      accountLimit: Number(e.AUTH_ACCOUNT_LIMIT ?? '10'),
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
    // Tools the model may call: web search (SearXNG's JSON API) and the admin's MCP servers.
    tools: Object.freeze({
      search: (e.SEARCH_PROVIDER ?? (e.SEARXNG_URL ? 'searxng' : 'none')) === 'searxng' && e.SEARXNG_URL ? { searxngUrl: e.SEARXNG_URL } : null,
      maxRounds: Number(e.TOOL_MAX_ROUNDS ?? '5'),
      timeoutMs: Number(e.TOOL_TIMEOUT_MS ?? '30000'),
      approvalTimeoutMs: Number(e.TOOL_APPROVAL_TIMEOUT_MS ?? '120000'),
    }),
    logLevel: e.LOG_LEVEL ?? 'info',
  });
}

export type Config = ReturnType<typeof loadConfig>;

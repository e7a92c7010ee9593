/**
 * What the speech proxies share about talking to a provider: the SDK clients
 * (built from config only: the SDKs would otherwise read the environment), a deadline that also follows
 * the client's own disconnect, and one mapping of upstream failures to 502/504
 * with a message a user can read and that never carries the provider's key.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError } from 'openai';
import { Mistral } from '@mistralai/mistralai';
import { ConnectionError, RequestTimeoutError, UnexpectedClientError } from '@mistralai/mistralai/models/errors';
import type { Config } from '../config';
import { HttpError, badGateway, gatewayTimeout } from '../errors';
import { log } from '../log';
import { NO_KEY_PLACEHOLDER, PUBLIC_URLS } from '../providers/shared';

export type Service = 'speech-to-text' | 'text-to-speech';

export function openaiClient(config: Config): OpenAI | null {
  const c = config.ai.openai;
  if (!c) return null;
  return new OpenAI({
    // OpenAI-compatible local servers take no key; the SDK insists on one.
    apiKey: c.apiKey || NO_KEY_PLACEHOLDER,
    baseURL: c.baseURL ?? PUBLIC_URLS.openai,
    // A proxy answers for one request: retries would multiply the wait and the bill.
    maxRetries: 0,
    // Explicit, so the SDK does not read OPENAI_ORG_ID/OPENAI_PROJECT_ID from the environment itself.
    organization: null,
    project: null,
  });
}

export function mistralClient(config: Config): Mistral | null {
  const c = config.ai.mistral;
  if (!c) return null;
  // An empty key rather than none: given none, the SDK would read MISTRAL_API_KEY itself.
  return new Mistral({ apiKey: c.apiKey ?? '', serverURL: c.serverURL ?? PUBLIC_URLS.mistral });
}

/** Aborts when the provider takes longer than `ms`, or when the client goes away. */
export class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  timedOut = false;

  constructor(
    readonly ms: number,
    client?: AbortSignal,
  ) {
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#controller.abort(new Error('provider timeout'));
    }, ms);
    if (client?.aborted) this.#controller.abort(client.reason);
    else client?.addEventListener('abort', () => this.#controller.abort(client.reason), { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  clear() {
    clearTimeout(this.#timer);
  }
}

function statusOf(error: unknown): number | null {
  const e = error as { status?: unknown; statusCode?: unknown } | null;
  if (typeof e?.status === 'number') return e.status;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return null;
}

function whyUpstream(status: number): string {
  if (status === 401 || status === 403) return 'refused our credentials; check its API key';
  if (status === 404) return 'does not offer the model or voice asked for';
  if (status === 413) return 'found the audio too large';
  if (status === 429) return 'is rate limiting this server; try again shortly';
  if (status === 400 || status === 415 || status === 422) return 'could not process the request';
  if (status >= 500) return 'had an internal error; try again shortly';
  return 'failed';
}

/** Any failure while calling a provider, as the 502/504 the client sees. */
export function upstreamFailure(error: unknown, service: Service, provider: string, deadline: Deadline): HttpError {
  if (error instanceof HttpError) return error;
  const label = `The ${service} provider (${provider})`;
  const name = (error as { name?: string } | null)?.name ?? '';
  if (
    deadline.timedOut ||
    error instanceof APIConnectionTimeoutError ||
    error instanceof RequestTimeoutError ||
    /Timeout/i.test(name)
  ) {
    return gatewayTimeout(`${label} did not answer within ${Math.round(deadline.ms / 1000)} s`);
  }
  const status = statusOf(error);
  // Upstream details go to the log, not to the browser: they may echo key fragments.
  log.warn('voice provider failed', {
    service,
    provider,
    status,
    error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
  });
  if (status !== null) return badGateway(`${label} ${whyUpstream(status)} (HTTP ${status})`);
  const unreachable = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|Unable to connect/i;
  if (
    error instanceof APIConnectionError ||
    error instanceof ConnectionError ||
    (error instanceof UnexpectedClientError && unreachable.test(error.message))
  ) {
    return badGateway(`${label} could not be reached`);
  }
  return badGateway(`${label} sent an answer we could not use`);
}

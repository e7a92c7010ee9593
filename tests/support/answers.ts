/**
 * What each route answers, from the server's schemas (the same types the web imports),
 * so `client.json('GET', '/api/threads')` is typed without a hand-written twin.
 * Routes not listed (bytes, event streams, unknown paths in negative tests) stay untyped.
 */
import type { Ok, UserAnswer } from '../../server/auth/model';
import type { PasskeyList, SessionList } from '../../server/auth/signin-model';
import type { FileAnswer } from '../../server/files/model';
import type { ErrorBody, Health } from '../../server/http/model';
import type { GeneratedImage } from '../../server/images/model';
import type { ModelList } from '../../server/providers/model';
import type { CancelAnswer } from '../../server/replies/model';
import type { SettingsView } from '../../server/settings/model';
import type { ShareCreated, SharedThread, ShareList } from '../../server/shares/model';
import type { SyncPage } from '../../server/sync/model';
import type { MessagePage, ThreadAnswer, ThreadPage } from '../../server/threads/model';
import type { Transcription, VoiceInfo } from '../../server/voice/model';

type Seg = string;
/** A path with an optional query string. */
type Q<P extends string> = P | `${P}?${string}`;

/** Success answer of `METHOD path`, or `unknown` when the route is not a JSON one. */
export type AnswerOf<M extends string, P extends string> = M extends 'GET'
  ? P extends Q<'/api/threads'> | Q<'/api/threads/'>
    ? ThreadPage
    : P extends Q<`/api/threads/${Seg}/messages`>
      ? MessagePage
      : P extends Q<`/api/threads/${Seg}`>
        ? ThreadAnswer
        : P extends '/api/auth/me'
          ? UserAnswer
          : P extends '/api/auth/sessions'
            ? SessionList
          : P extends '/api/auth/passkeys'
            ? PasskeyList
          : P extends '/api/models'
            ? ModelList
            : P extends '/api/settings'
              ? SettingsView
              : P extends Q<'/api/sync'>
                ? SyncPage
                : P extends '/api/voice'
                  ? VoiceInfo
                  : P extends Q<'/api/shares'>
                    ? ShareList
                    : P extends `/api/shares/${Seg}/files/${Seg}`
                      ? unknown
                      : P extends `/api/shares/${Seg}`
                        ? SharedThread
                        : P extends '/api/health'
                          ? Health
                          : unknown
  : M extends 'POST'
    ? P extends '/api/auth/register' | '/api/auth/login' | '/api/auth/refresh' | '/api/auth/guest' | '/api/auth/passkeys/login/verify'
      ? UserAnswer
      : P extends '/api/auth/passkeys/register/options' | '/api/auth/passkeys/login/options'
        ? { challenge: string }
      : P extends '/api/auth/password'
        ? Ok
        : P extends '/api/threads' | '/api/threads/'
          ? ThreadAnswer
          : P extends `/api/threads/${Seg}/share`
            ? ShareCreated
            : P extends `/api/shares/${Seg}/fork`
              ? ThreadAnswer
              : P extends `/api/messages/${Seg}/cancel`
                ? CancelAnswer
                : P extends '/api/files' | '/api/files/'
                  ? FileAnswer
                  : P extends '/api/images' | '/api/images/'
                    ? GeneratedImage
                    : P extends '/api/voice/transcriptions'
                      ? Transcription
                      : unknown
    : M extends 'PATCH'
      ? P extends `/api/threads/${Seg}`
        ? ThreadAnswer
        : unknown
      : M extends 'PUT'
        ? P extends '/api/settings'
          ? SettingsView
          : unknown
        : unknown;

/**
 * The answer as a test reads it: the schema's field names and nesting, with literal unions
 * widened to their primitive and optional fields present, so `toEqual({theme: 'dark', …})`
 * compiles while a renamed or removed field does not.
 */
export type Loose<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends null | undefined
        ? T
        : T extends readonly (infer U)[]
          ? Loose<U>[]
          : T extends object
            ? { -readonly [K in keyof T]-?: Loose<Exclude<T[K], undefined>> }
            : T;

/**
 * A test reads a route's answer or its error body from the same object, depending on the
 * status it asserted; both are typed. An untyped route stays `any`.
 */
export type BodyOf<M extends string, P extends string> = unknown extends AnswerOf<M, P>
  ? any
  : Loose<AnswerOf<M, P>> & Loose<ErrorBody>;

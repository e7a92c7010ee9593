import { t } from 'elysia';

export const Theme = t.Union([t.Literal('system'), t.Literal('light'), t.Literal('dark')], {
  error: 'must be system, light or dark',
});
export const TalkMode = t.Union([t.Literal('hold'), t.Literal('toggle')], { error: 'must be hold or toggle' });

/** Keys go into an Authorization header: printable ASCII without spaces, and a sane length. */
const ApiKey = t.Union(
  [t.String({ pattern: '^[\\x21-\\x7E]{8,512}$' }), t.Null()],
  { error: 'must be 8 to 512 printable characters without spaces, or null to remove it' },
);

/** The body of PUT /api/settings: only the fields to change; a key of null removes it. */
export const SettingsUpdate = t.Object({
  defaultModel: t.Optional(
    t.Union([t.String({ minLength: 1, maxLength: 200 }), t.Null()], { error: 'must be a model id or null' }),
  ),
  theme: t.Optional(Theme),
  voice: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 100 }), t.Null()], { error: 'must be a voice name or null' })),
  talkMode: t.Optional(TalkMode),
  mistralKey: t.Optional(ApiKey),
  openaiKey: t.Optional(ApiKey),
});
export type SettingsUpdate = typeof SettingsUpdate.static;

export const Settings = t.Object({
  defaultModel: t.Union([t.String(), t.Null()]),
  theme: Theme,
  voice: t.Union([t.String(), t.Null()]),
  talkMode: TalkMode,
}, { title: 'Settings' });
export type Settings = typeof Settings.static;

export type Theme = typeof Theme.static;
export type TalkMode = typeof TalkMode.static;

/** A saved provider key is never sent back: only its last four characters. */
const KeyInfo = t.Union([t.Object({ last4: t.String() }), t.Null()]);
export const ProviderKeys = t.Object({ mistral: KeyInfo, openai: KeyInfo });
export type ProviderKeys = typeof ProviderKeys.static;

/** The answer of GET and PUT /api/settings. */
export const SettingsView = t.Object({
  settings: Settings,
  keys: ProviderKeys,
});
export type SettingsView = typeof SettingsView.static;

export const DEFAULT_SETTINGS: Settings = Object.freeze({
  defaultModel: null,
  theme: 'system',
  voice: null,
  talkMode: 'hold',
}) as Settings;

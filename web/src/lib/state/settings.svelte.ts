/**
 * The account's settings and the models it can use. Loaded once per session (the
 * settings page and the thread's quick settings share it); `update` saves and adopts
 * the server's answer. Provider keys only ever come back as their last four characters.
 */
import { untrack } from 'svelte';
import { api } from '$lib/api';
import type { ModelInfo as Model } from '$server/providers/model';
import type { ProviderKeys, Settings, SettingsUpdate } from '$server/settings/model';
import { theme } from './theme.svelte';
import type { LoadStatus } from './threads.svelte';
import { errorText as message, isNetworkError } from '$lib/errors';

class SettingsState {
  settings = $state<Settings | null>(null);
  keys = $state<ProviderKeys>({ mistral: null, openai: null });
  status = $state<LoadStatus>('idle');
  error = $state<string | null>(null);

  models = $state<Model[]>([]);
  serverDefaultModel = $state<string | null>(null);
  /** The server can search the web (the composer then offers "Search the web"). */
  webSearch = $state(false);
  modelsStatus = $state<LoadStatus>('idle');
  modelsError = $state<string | null>(null);
  /** The last load found no server at all (no network, or it is away): one calm notice, not an error per section. */
  unreachable = $state(false);
  #loading: Promise<void> | null = null;
  /** The last update sent: the next one waits for its answer (see `update`). */
  #updating: Promise<unknown> = Promise.resolve();

  /** Wired by the composition root (state/root.ts). */
  connect() {
    // Without a network they fail once and say so; they load again when it returns.
    window.addEventListener('online', () => {
      if (this.status === 'error') void this.load();
      if (this.modelsStatus === 'error') void this.loadModels();
    });
  }

  /** Sign-out: nothing of the account stays in memory. */
  reset() {
    this.settings = null;
    this.keys = { mistral: null, openai: null };
    this.status = 'idle';
    this.models = [];
    this.modelsStatus = 'idle';
    this.unreachable = false;
  }

  /** The model a new thread uses: the user's default, else the server's. */
  get defaultModel(): string | null {
    return this.settings?.defaultModel ?? this.serverDefaultModel;
  }

  /** Untracked: a screen's effect that calls it must not run again (and ask again) when the status changes. */
  load(): Promise<void> {
    return untrack(() => this.#load());
  }

  #load(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    this.#loading ??= (async () => {
      this.status = 'loading';
      this.error = null;
      try {
        const body = await api.settings.get();
        this.settings = body.settings;
        this.keys = body.keys;
        this.status = 'ready';
        this.unreachable = false;
        if (body.settings.theme !== theme.current) theme.apply(body.settings.theme);
      } catch (error) {
        this.error = message(error);
        this.status = 'error';
        if (isNetworkError(error)) this.unreachable = true;
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  loadModels(force = false): Promise<void> {
    return untrack(() => this.#loadModels(force));
  }

  async #loadModels(force: boolean) {
    if (this.modelsStatus === 'loading' || (this.modelsStatus === 'ready' && !force)) return;
    this.modelsStatus = 'loading';
    this.modelsError = null;
    try {
      const body = await api.models.list();
      this.models = body.models;
      this.serverDefaultModel = body.defaultModel;
      this.webSearch = body.webSearch ?? false;
      this.modelsStatus = 'ready';
    } catch (error) {
      this.modelsError = message(error);
      this.modelsStatus = 'error';
      if (isNetworkError(error)) this.unreachable = true;
    }
  }

  /**
   * Saves a change. Changes go one at a time, in the order made: each answer holds the whole
   * settings, so an earlier change answered last would put back what a later one changed (a
   * theme chosen, then a default model at once: the model showed as unchanged).
   */
  update(patch: SettingsUpdate): Promise<void> {
    if (patch.theme) theme.apply(patch.theme);
    const run = this.#updating.then(() => this.#update(patch));
    this.#updating = run.catch(() => {});
    return run;
  }

  async #update(patch: SettingsUpdate) {
    const body = await api.settings.update(patch);
    this.settings = body.settings;
    this.keys = body.keys;
    // A new key may add a provider's models.
    if ('mistralKey' in patch || 'openaiKey' in patch) void this.loadModels(true);
  }
}

export const settings = new SettingsState();

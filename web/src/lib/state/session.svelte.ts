/**
 * Who is signed in. `status` is 'unknown' until the first /api/auth/me answers; the app
 * layout waits for it before choosing between the app and the sign-in page.
 */
import { api, ApiError, onSessionEnded } from '$lib/api';
import type { User } from '$lib/types';
import { drafts } from './drafts.svelte';

export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out';

class Session {
  #user = $state<User | null>(null);
  #status = $state<SessionStatus>('unknown');
  #checking: Promise<void> | null = null;
  /** Cleanups registered by other state (threads, drafts, offline mirror) to run at sign-out. */
  #onSignOut: (() => void | Promise<void>)[] = [];

  constructor() {
    onSessionEnded(() => this.#ended());
  }

  get user() {
    return this.#user;
  }
  get status() {
    return this.#status;
  }

  /** Asks the server once (shared by concurrent callers). Network errors leave the status unknown. */
  check(): Promise<void> {
    this.#checking ??= api.auth
      .me()
      .then(({ user }) => this.#signedIn(user))
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) this.#ended();
        else throw error;
      })
      .finally(() => {
        this.#checking = null;
      });
    return this.#checking;
  }

  async login(email: string, password: string) {
    const { user } = await api.auth.login({ email, password });
    this.#signedIn(user);
  }

  async register(email: string, password: string, name: string) {
    const { user } = await api.auth.register({ email, password, ...(name ? { name } : {}) });
    this.#signedIn(user);
  }

  changePassword(currentPassword: string, newPassword: string) {
    return api.auth.changePassword({ currentPassword, newPassword });
  }

  async logout() {
    await api.auth.logout().catch(() => {});
    await this.#clearLocalData();
    this.#ended();
  }

  async deleteAccount() {
    await api.auth.deleteAccount();
    await this.#clearLocalData();
    this.#ended();
  }

  onSignOut(cleanup: () => void | Promise<void>) {
    this.#onSignOut.push(cleanup);
  }

  #signedIn(user: User) {
    // Another account on this device (the last one's session expired rather than signed
    // out): nothing of theirs may show, drafts included.
    const last = readLastUser();
    if (last && last !== user.id) void this.#clearStorage();
    writeLastUser(user.id);
    this.#user = user;
    this.#status = 'signed-in';
  }

  /** The session is over (signed out, deleted, or refused by the server): drop in-memory state. */
  #ended() {
    if (this.#user) for (const cleanup of this.#onSignOut) void Promise.resolve(cleanup()).catch(() => {});
    this.#user = null;
    this.#status = 'signed-out';
  }

  /** Security item 13: nothing of this account stays in the browser after sign-out. */
  async #clearLocalData() {
    for (const cleanup of this.#onSignOut) await Promise.resolve(cleanup()).catch(() => {});
    await this.#clearStorage();
  }

  /** What this app keeps in the browser's storage for an account. */
  async #clearStorage() {
    drafts.reset();
    try {
      for (const key of Object.keys(localStorage)) {
        if (key.startsWith('parley:draft:') || key === LAST_USER) localStorage.removeItem(key);
      }
    } catch {
      /* storage unavailable */
    }
    // The worker precaches only the app shell, but drop any runtime cache a future version adds.
    if ('caches' in globalThis) {
      for (const name of await caches.keys()) if (!name.startsWith('workbox-precache')) await caches.delete(name);
    }
  }
}

const LAST_USER = 'parley:user';
function readLastUser(): string | null {
  try {
    return localStorage.getItem(LAST_USER);
  } catch {
    return null;
  }
}
function writeLastUser(id: string) {
  try {
    localStorage.setItem(LAST_USER, id);
  } catch {
    /* no storage */
  }
}

export const session = new Session();

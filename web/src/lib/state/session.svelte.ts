/**
 * Who is signed in. `status` is 'unknown' until the first /api/auth/me answers; the app
 * layout waits for it before choosing between the app and the sign-in page.
 *
 * Offline (no answer at all), the last account signed in on this device is taken as signed
 * in, with the profile its offline mirror kept: the installed app opens on a plane. When the
 * network returns it asks again, and a 401 then wipes everything local (security item 13).
 * `accountId` names the account whose local data the app may open, before /api/auth/me
 * answers too, so a start never waits on it.
 */
import { api, ApiError, onSessionEnded } from '$lib/api';
import type { User } from '$server/auth/model';
import type { Permission, Permissions } from '$server/auth/permissions';
import { dbName, deleteMirrorDBs, loadStore } from '$lib/offline/db';
import { drafts } from './drafts.svelte';
import { BRANCH_PREFIX } from '$lib/thread/branch-memory';

export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out';

class Session {
  #user = $state<User | null>(null);
  /** What the account's role may do (/api/auth/me); null until known (offline: the server still decides). */
  #permissions = $state<Permissions | null>(null);
  #status = $state<SessionStatus>('unknown');
  /** The last account signed in on this device (localStorage, not secret). */
  #lastId = $state<string | null>(readLastUser());
  /** Decided without the server, which could not be asked (signed in from the local copy, or signed out for want of one): asked again when the network returns. */
  #unconfirmed = false;
  /** Signing out or deleting the account: no local data of it may be opened (or re-created) meanwhile. */
  #leaving = $state(false);
  /** Where a deliberate sign-out or account deletion goes once it has ended (the root layout takes it there). */
  #leavingTo = $state<'/login' | '/register' | null>(null);
  #checking: Promise<void> | null = null;
  /** Cleanups registered by other state (threads, drafts, offline mirror) to run at sign-out. */
  #onSignOut: (() => void | Promise<void>)[] = [];
  /** Run when an account signs in after another one's state was dropped (reload what shows). */
  #onSwitch: (() => void)[] = [];

  /** Wired by the composition root (state/root.ts): the API client's "session over", the network, other tabs. */
  connect() {
    onSessionEnded(() => this.#ended());
    window.addEventListener('online', () => {
      if (this.#unconfirmed || readPendingLogout()) void this.check().catch(() => {});
    });
    // Signed out (or another account signed in) in another tab: this one lets go too.
    window.addEventListener('storage', (event) => {
      if (event.key !== LAST_USER || !this.#user || event.newValue === this.#user.id) return;
      for (const cleanup of this.#onSignOut) void Promise.resolve(cleanup()).catch(() => {});
      this.#user = null;
      this.#lastId = event.newValue;
      this.#status = 'signed-out';
      if (event.newValue) void this.check().catch(() => {});
    });
  }

  get user() {
    return this.#user;
  }
  get status() {
    return this.#status;
  }
  get permissions() {
    return this.#permissions;
  }
  /**
   * Signed out (or deleted) on purpose, until the next sign-in: the screen that leads to. The root
   * layout's guard goes there instead of to a sign-in page with a `next` back to where the user
   * was: one navigation (a second one by the caller raced the guard's, and either could win).
   */
  get leavingTo() {
    return this.#leavingTo;
  }
  /** Whether to offer something: hidden once the server says the role may not (the server refuses it anyway). */
  can(permission: Permission): boolean {
    return this.#permissions?.[permission] ?? this.#user?.role !== 'guest';
  }
  get isAdmin() {
    return this.#user?.role === 'admin';
  }
  /** Re-read the role and permissions (after signing in, or when the server refused something). */
  async refreshPermissions() {
    const { user, permissions } = await api.auth.me();
    if (this.#user?.id !== user.id) return;
    this.#user = user;
    this.#permissions = permissions;
  }
  /** Whose local data the app may show: the signed-in account, or before the server answers, the last one. */
  get accountId(): string | null {
    if (this.#leaving) return null;
    return this.#user?.id ?? (this.#status === 'signed-out' ? null : this.#lastId);
  }

  /** Asks the server once (shared by concurrent callers). Network errors leave the status unknown. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #check() {
    // Signed out while offline: the server is told before anything else (its cookies still work).
    if (readPendingLogout()) {
      const told = await api.auth.logout().then(
        () => true,
        (error: unknown) => !(error instanceof ApiError && error.offline),
      );
      if (told) clearPendingLogout();
      this.#status = 'signed-out';
      return;
    }
    try {
      const { user, permissions } = await api.auth.me();
      this.#unconfirmed = false;
      this.#signedIn(user, permissions);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.#unconfirmed = false;
        this.#ended();
        return;
      }
      if (error instanceof ApiError && error.offline) {
        if (await this.#restoreOffline()) return;
        // No account kept on this device (none signed in here, or signed out): the sign-in page,
        // which says it needs the network, rather than an empty app. Asked again when the network
        // returns: a session whose cookies still work is signed in then.
        if (!this.#lastId && !this.#user) {
          this.#unconfirmed = true;
          this.#status = 'signed-out';
          return;
        }
      }
      throw error;
    }
  }

  /** No network: the last account on this device, as its mirror remembers it. */
  async #restoreOffline(): Promise<boolean> {
    const id = this.#lastId;
    if (!id || this.#user) return !!this.#user;
    const db = await loadStore()
      .then((store) => store.openExistingMirrorDB(dbName(id)))
      .catch(() => null);
    const user = (await db?.get('meta', 'user').catch(() => undefined)) as User | undefined;
    db?.close();
    if (!user || user.id !== id || this.#status === 'signed-out') return false;
    this.#unconfirmed = true;
    this.#user = user;
    this.#status = 'signed-in';
    return true;
  }

  async login(email: string, password: string) {
    const { user } = await api.auth.login({ email, password });
    clearPendingLogout();
    this.#signedIn(user);
  }

  /** An invite or password-reset link: sets the password and signs in. */
  async useLink(token: string, password: string) {
    const { user } = await api.auth.reset({ token, password });
    clearPendingLogout();
    this.#signedIn(user);
  }

  async register(email: string, password: string, name: string) {
    const { user } = await api.auth.register({ email, password, ...(name ? { name } : {}) });
    clearPendingLogout();
    this.#signedIn(user);
  }

  /** Signed in another way than a password (a passkey, as a guest): the server set the cookies. */
  adopt(user: User) {
    clearPendingLogout();
    this.#signedIn(user);
  }

  changePassword(currentPassword: string, newPassword: string) {
    return api.auth.changePassword({ currentPassword, newPassword });
  }

  /** Signs out. Without a network everything local is wiped anyway, and the server is told at the next start. */
  async logout() {
    this.#leaving = true;
    this.#leavingTo = '/login';
    const told = await api.auth.logout().then(
      () => true,
      (error: unknown) => !(error instanceof ApiError && error.offline),
    );
    await this.#clearLocalData();
    if (!told) setPendingLogout();
    this.#ended();
  }

  /** `password`: needed unless this device signed in within the last few minutes. */
  async deleteAccount(password?: string) {
    this.#leaving = true;
    this.#leavingTo = '/register';
    try {
      await api.auth.deleteAccount(password);
    } catch (error) {
      this.#leaving = false;
      this.#leavingTo = null;
      throw error;
    }
    await this.#clearLocalData();
    this.#ended();
  }

  onSignOut(cleanup: () => void | Promise<void>) {
    this.#onSignOut.push(cleanup);
  }

  /** `reload` runs when another account takes over a running app (its state was dropped). */
  onAccountSwitch(reload: () => void) {
    this.#onSwitch.push(reload);
  }

  /** `permissions`: when the answer that named the user carried them (else they are asked for once). */
  #signedIn(user: User, permissions?: Permissions) {
    // Another account on this device (the last one's session expired rather than signed
    // out): nothing of theirs may show, drafts and offline copy included. What the app
    // already showed from that account's copy (an offline start) is dropped and reloaded.
    const last = readLastUser();
    const switched = !!last && last !== user.id;
    if (switched) {
      for (const cleanup of this.#onSignOut) void Promise.resolve(cleanup()).catch(() => {});
      void this.#clearStorage(user.id);
    }
    writeLastUser(user.id);
    this.#leaving = false;
    this.#leavingTo = null;
    this.#lastId = user.id;
    if (this.#user?.id !== user.id) this.#permissions = null;
    if (permissions) this.#permissions = permissions;
    this.#user = user;
    this.#status = 'signed-in';
    if (!this.#permissions) void this.refreshPermissions().catch(() => {});
    if (switched) for (const reload of this.#onSwitch) reload();
  }

  /** The session is over (signed out, deleted, or refused by the server): drop in-memory state. */
  #ended() {
    const hadAccount = !!this.#user || !!this.#lastId;
    if (this.#user) for (const cleanup of this.#onSignOut) void Promise.resolve(cleanup()).catch(() => {});
    this.#user = null;
    this.#permissions = null;
    this.#status = 'signed-out';
    // Refused by the server (expired, revoked, deleted): nothing of the account stays here.
    if (hadAccount) void this.#clearStorage();
  }

  /** Security item 13: nothing of this account stays in the browser after sign-out. */
  async #clearLocalData() {
    for (const cleanup of this.#onSignOut) await Promise.resolve(cleanup()).catch(() => {});
    await this.#clearStorage();
  }

  /**
   * What this app keeps in the browser's storage for an account: drafts, the versions picked
   * in threads (branch-memory.ts), the offline mirror
   * (threads, messages, images, outbox: one IndexedDB database per account) and any cache
   * but the app shell's. `keep` is an account signing in, whose own mirror may stay.
   */
  async #clearStorage(keep?: string) {
    drafts.reset();
    if (!keep) this.#lastId = null;
    try {
      for (const key of Object.keys(localStorage)) {
        const local = key.startsWith('parley:draft:') || key.startsWith(BRANCH_PREFIX);
        if (local || (key === LAST_USER && !keep)) localStorage.removeItem(key);
      }
    } catch {
      /* storage unavailable */
    }
    await deleteMirrorDBs(keep);
    // The worker precaches only the app shell, but drop any runtime cache a future version adds.
    // Bounded: while the browser applies the server's Clear-Site-Data, CacheStorage can wait.
    if ('caches' in globalThis) {
      const drop = (async () => {
        for (const name of await caches.keys()) if (!name.startsWith('workbox-precache')) await caches.delete(name);
      })().catch(() => {});
      await Promise.race([drop, new Promise((resolve) => setTimeout(resolve, 3000))]);
    }
  }
}

/** Set when signing out found no network: the next start tells the server first. */
const PENDING_LOGOUT = 'parley:signed-out';
function readPendingLogout(): boolean {
  try {
    return localStorage.getItem(PENDING_LOGOUT) === '1';
  } catch {
    return false;
  }
}
function setPendingLogout() {
  try {
    localStorage.setItem(PENDING_LOGOUT, '1');
  } catch {
    /* no storage */
  }
}
function clearPendingLogout() {
  try {
    localStorage.removeItem(PENDING_LOGOUT);
  } catch {
    /* no storage */
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

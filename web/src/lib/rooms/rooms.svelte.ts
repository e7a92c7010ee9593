/**
 * The rooms the user can see, for the sidebar and the rooms screen. Each list fetched is
 * kept on this device (offline.ts, loaded lazily), with the recent messages of the rooms
 * the user is in; without a network the kept list is shown.
 */
import { errorText } from '$lib/errors';
import { offline } from '$lib/offline/offline.svelte';
import type { Mirror } from '$lib/offline/mirror';
import { roomsApi, type Room } from './api';

const kept = () => import('./offline');
const REFRESH_DELAY_MS = 1500;

class Rooms {
  #list = $state.raw<Room[]>([]);
  #status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
  #error = $state<string | null>(null);

  get list() {
    return this.#list;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  /** Rooms the user belongs to first, then public ones to join; each by name. */
  get sorted() {
    return [...this.#list].sort((a, b) => Number(b.joined) - Number(a.joined) || a.name.localeCompare(b.name));
  }

  async load() {
    this.#status = this.#list.length ? this.#status : 'loading';
    // The account's mirror as the fetch starts: closed by a sign-out meanwhile, it is left alone.
    const mirror = offline.mirror();
    try {
      const list = (this.#list = (await roomsApi.list()).rooms);
      this.#status = 'ready';
      this.#error = null;
      if (mirror) void this.#keep(mirror, list);
    } catch (error) {
      // No network (or no server): the rooms as last seen here.
      const saved = mirror ? await this.#saved(mirror) : null;
      if (saved?.length && !this.#list.length) {
        this.#list = saved;
        this.#status = 'ready';
        return;
      }
      if (this.#list.length) return;
      this.#status = 'error';
      this.#error = errorText(error);
    }
  }

  async #keep(mirror: Mirror, list: Room[]) {
    if (mirror.closed) return;
    try {
      const { saveRoomList, refreshRooms } = await kept();
      await saveRoomList(mirror, list);
      // The rooms' messages once the screen has what it needs (as the threads' first sync waits).
      await new Promise((resolve) => setTimeout(resolve, REFRESH_DELAY_MS));
      await refreshRooms(mirror, list);
    } catch {
      /* this device keeps no copy (no IndexedDB, storage full): rooms still work online */
    }
  }

  async #saved(mirror: Mirror) {
    return kept()
      .then((m) => m.savedRooms(mirror))
      .catch(() => null);
  }

  /** Updates (or adds) one room as the server described it. */
  put(room: Room) {
    const i = this.#list.findIndex((r) => r.id === room.id);
    this.#list = i < 0 ? [...this.#list, room] : this.#list.map((r) => (r.id === room.id ? room : r));
  }

  drop(id: string) {
    this.#list = this.#list.filter((r) => r.id !== id);
  }

  reset() {
    this.#list = [];
    this.#status = 'idle';
  }
}

export const rooms = new Rooms();

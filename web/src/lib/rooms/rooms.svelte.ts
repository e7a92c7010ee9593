/** The rooms the user can see, for the sidebar and the rooms screen. */
import { errorText } from '$lib/errors';
import { roomsApi, type Room } from './api';

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
    try {
      this.#list = (await roomsApi.list()).rooms;
      this.#status = 'ready';
      this.#error = null;
    } catch (error) {
      this.#status = 'error';
      this.#error = errorText(error);
    }
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

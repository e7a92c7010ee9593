/**
 * One open room: its messages (kept by id, shown in order), members with presence,
 * who is typing, and the live event stream. The stream resumes from the last `seq`
 * it saw after any drop (a phone that slept, a server restart), with backoff, so the
 * room catches up with no gap and no duplicate: an event at or below the last seq
 * is ignored, a `message` replaces the message whole, a `delta` appends to it.
 *
 * Offline: the room's copy on this device (offline.ts) is shown instead, and the stream
 * resumes from the copy's seq as soon as the network is back. What it brings is saved to
 * that copy as it comes. A message written without a network waits in the outbox (its
 * client id kept, so it is posted exactly once) and shows as waiting meanwhile.
 */
import { ApiError } from '$lib/api';
import { errorText } from '$lib/errors';
import { offline } from '$lib/offline/offline.svelte';
import type { OutboxEntry } from '$lib/offline/db';
import type { Mirror } from '$lib/offline/mirror';
import { connectivity } from '$lib/state/connectivity.svelte';
import { roomsApi, type Member, type Room, type RoomEvent, type RoomMessage } from './api';
import { forgetRoom, order, saveRoom, savedRoom } from './offline';

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;
/** Saving to this device's copy waits for the stream to go quiet this long. */
const SAVE_AFTER_MS = 400;

/** The outbox's chain for a room's messages (apart from every thread's). */
export const roomChain = (roomId: string) => `room:${roomId}`;

export class RoomView {
  readonly id: string;
  #room = $state.raw<Room | null>(null);
  #messages = $state.raw<RoomMessage[]>([]);
  #members = $state.raw<Member[]>([]);
  #typing = $state.raw<{ userId: string; name: string; until: number }[]>([]);
  #status = $state<'loading' | 'ready' | 'missing' | 'error'>('loading');
  #error = $state<string | null>(null);
  #live = $state<'connecting' | 'live' | 'reconnecting'>('connecting');
  #older = $state<string | null>(null);
  #seq = 0;
  #stop = new AbortController();
  #lastTypingSent = 0;
  #typingTimer: ReturnType<typeof setInterval> | undefined;
  /** Showing the copy kept on this device (the server could not be reached when it opened). */
  #kept = $state(false);
  /**
   * The account's mirror as the room opened: a write after sign-out finds it closed and does
   * nothing (asking for the mirror then could re-create a wiped database).
   */
  #mirror: Mirror | null = null;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ends the wait before the next reconnect (the network came back). */
  #wake: () => void = () => {};
  #onOnline = () => this.#wake();

  constructor(id: string) {
    this.id = id;
  }

  get room() {
    return this.#room;
  }
  get messages() {
    return this.#messages;
  }
  get members() {
    return this.#members;
  }
  get typing() {
    return this.#typing;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  get live() {
    return this.#live;
  }
  get hasOlder() {
    return this.#older !== null;
  }
  /** Showing what this device kept (no network when the room opened); live again once it is back. */
  get kept() {
    return this.#kept;
  }
  /** Messages written here that wait in the outbox (no network), oldest first. */
  get pending(): OutboxEntry[] {
    return offline.outbox.filter((e) => e.roomId === this.id && !this.#messages.some((m) => m.id === e.id));
  }
  /** The assistant is answering (or a mention waits its turn). */
  get busy() {
    return this.#messages.some((m) => m.status === 'streaming' || m.status === 'queued');
  }

  /** Loads the room, its latest messages and members, then follows it live until `close`. */
  async open() {
    this.#mirror = offline.mirror();
    try {
      // The room first: its seq is where the live events start, so whatever changes while the
      // messages load is replayed (and replaces what the page showed): no gap.
      const { room } = await roomsApi.get(this.id);
      const [page, { members }] = await Promise.all([roomsApi.messages(this.id), roomsApi.members(this.id)]);
      this.#room = room;
      this.#members = members;
      this.#older = page.nextCursor;
      this.#seq = room.seq;
      this.#messages = order(page.messages);
      this.#status = 'ready';
      this.#save();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
        this.#status = 'missing';
        this.#forget();
        return;
      }
      // No network, or no server: what this device kept of the room, if anything.
      const mirror = this.#mirror;
      const copy = mirror ? await savedRoom(mirror, this.id).catch(() => null) : null;
      if (this.#stop.signal.aborted) return;
      if (!copy) {
        this.#status = 'error';
        this.#error = errorText(error);
        return;
      }
      this.#room = copy.room;
      this.#members = copy.members.map((m) => ({ ...m, online: false }));
      this.#seq = copy.seq;
      this.#messages = copy.messages;
      this.#older = null;
      this.#kept = true;
      this.#status = 'ready';
    }
    window.addEventListener('online', this.#onOnline);
    this.#typingTimer = setInterval(() => {
      const now = Date.now();
      if (this.#typing.some((t) => t.until <= now)) this.#typing = this.#typing.filter((t) => t.until > now);
    }, 1000);
    void this.#follow();
  }

  close() {
    this.#stop.abort();
    clearInterval(this.#typingTimer);
    window.removeEventListener('online', this.#onOnline);
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer);
      void this.#write();
    }
  }

  async #follow() {
    let delay = 1000;
    while (!this.#stop.signal.aborted) {
      try {
        // Opened from this device's copy: the room and its members as they are now, first.
        if (this.#kept) await this.#refresh();
        this.#live = this.#live === 'live' ? 'reconnecting' : this.#live;
        for await (const event of roomsApi.events(this.id, this.#seq, this.#stop.signal)) {
          this.#live = 'live';
          delay = 1000;
          this.apply(event);
        }
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        if (error instanceof ApiError && (error.status === 404 || error.status === 401 || error.status === 403)) {
          this.#status = 'missing';
          this.#forget();
          return;
        }
      }
      if (this.#stop.signal.aborted) return;
      this.#live = 'reconnecting';
      // The backoff, cut short when the network comes back.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = () => {};
      delay = Math.min(delay * 2, 15_000);
      // Members may have changed meanwhile.
      void roomsApi.members(this.id).then(({ members }) => (this.#members = members), () => {});
    }
  }

  /** Leaves the kept copy: the room and members from the server (its messages come with the stream). */
  async #refresh() {
    try {
      const [{ room }, { members }] = await Promise.all([roomsApi.get(this.id), roomsApi.members(this.id)]);
      this.#room = room;
      this.#members = members;
      this.#kept = false;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 403)) this.#forget();
      throw error;
    }
  }

  /** Saves the room's state to this device's copy, once the stream has been quiet a moment. */
  #save() {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => void this.#write(), SAVE_AFTER_MS);
  }

  async #write() {
    this.#saveTimer = undefined;
    const mirror = this.#mirror;
    const room = this.#room;
    if (!mirror || mirror.closed || !room) return;
    await saveRoom(mirror, { room, seq: this.#seq, members: this.#members, messages: this.#messages }).catch(() => {});
  }

  #forget() {
    const mirror = this.#mirror;
    if (mirror && !mirror.closed) void forgetRoom(mirror, this.id).catch(() => {});
  }

  /** One event of the stream (public for tests of the state logic). */
  apply(event: RoomEvent) {
    if (event.event === 'presence') {
      this.#members = this.#members.map((m) => (m.userId === event.data.userId ? { ...m, online: event.data.online } : m));
      if (event.data.online && !this.#members.some((m) => m.userId === event.data.userId)) {
        void roomsApi.members(this.id).then(({ members }) => (this.#members = members), () => {});
      }
      return;
    }
    if (event.event === 'typing') {
      const until = Date.now() + TYPING_SHOWN_MS;
      this.#typing = [...this.#typing.filter((t) => t.userId !== event.data.userId), { ...event.data, until }];
      return;
    }
    if (event.data.seq <= this.#seq) return;
    this.#seq = event.data.seq;
    this.#save();
    if (event.event === 'delta') {
      this.#messages = this.#messages.map((m) =>
        m.id === event.data.id ? { ...m, content: m.content + event.data.text, seq: event.data.seq } : m,
      );
      return;
    }
    const message = event.data.message;
    this.#typing = this.#typing.filter((t) => t.userId !== message.authorId);
    this.#messages = order([...this.#messages.filter((m) => m.id !== message.id), message]);
  }

  async loadOlder() {
    if (!this.#older) return;
    const page = await roomsApi.messages(this.id, this.#older);
    this.#older = page.nextCursor;
    const known = new Set(this.#messages.map((m) => m.id));
    this.#messages = order([...page.messages.filter((m) => !known.has(m.id)), ...this.#messages]);
  }

  /**
   * Sends a message; the server's answer (and the event) put it in the list. Without a network
   * (or when the request gets no answer) it waits in the outbox, under the same id.
   */
  async send(content: string) {
    const id = crypto.randomUUID();
    if (!connectivity.online) return this.#queue(id, content);
    let message: RoomMessage;
    try {
      ({ message } = await roomsApi.post(this.id, id, content));
    } catch (error) {
      if (error instanceof ApiError && (error.offline || [502, 503, 504].includes(error.status))) return this.#queue(id, content);
      throw error;
    }
    if (!this.#messages.some((m) => m.id === message.id)) this.#messages = order([...this.#messages, message]);
    if (this.#room && !this.#room.joined) this.#room = { ...this.#room, joined: true };
  }

  /** Keeps a message for the outbox to post when the network is back (exactly once: its id is the server's key). */
  async #queue(id: string, content: string) {
    await offline.queue({ id, threadId: roomChain(this.id), roomId: this.id, content, createdAt: new Date().toISOString() });
  }

  /** Tells the others this person is typing (at most every few seconds). */
  noteTyping() {
    const now = Date.now();
    if (now - this.#lastTypingSent < TYPING_SENT_EVERY_MS || !this.#room?.joined) return;
    this.#lastTypingSent = now;
    void roomsApi.typing(this.id).catch(() => {});
  }

  async join() {
    await roomsApi.join(this.id);
    this.#room = this.#room ? { ...this.#room, joined: true } : this.#room;
    this.#members = (await roomsApi.members(this.id)).members;
  }

  async removeMessage(messageId: string) {
    await roomsApi.removeMessage(this.id, messageId);
  }

  async addMember(email: string) {
    await roomsApi.addMember(this.id, email);
    this.#members = (await roomsApi.members(this.id)).members;
  }

  async removeMember(userId: string) {
    await roomsApi.removeMember(this.id, userId);
    this.#members = this.#members.filter((m) => m.userId !== userId);
  }

  setRoom(room: Room) {
    this.#room = room;
  }
}


/**
 * One open room: its messages (kept by id, shown in order), members with presence,
 * who is typing, and the live event stream. The stream resumes from the last `seq`
 * it saw after any drop (a phone that slept, a server restart), with backoff, so the
 * room catches up with no gap and no duplicate: an event at or below the last seq
 * is ignored, a `message` replaces the message whole, a `delta` appends to it.
 */
import { ApiError } from '$lib/api';
import { errorText } from '$lib/errors';
import { roomsApi, type Member, type Room, type RoomEvent, type RoomMessage } from './api';

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;

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
  /** The assistant is answering (or a mention waits its turn). */
  get busy() {
    return this.#messages.some((m) => m.status === 'streaming' || m.status === 'queued');
  }

  /** Loads the room, its latest messages and members, then follows it live until `close`. */
  async open() {
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
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.#status = 'missing';
      else {
        this.#status = 'error';
        this.#error = errorText(error);
      }
      return;
    }
    this.#typingTimer = setInterval(() => {
      const now = Date.now();
      if (this.#typing.some((t) => t.until <= now)) this.#typing = this.#typing.filter((t) => t.until > now);
    }, 1000);
    void this.#follow();
  }

  close() {
    this.#stop.abort();
    clearInterval(this.#typingTimer);
  }

  async #follow() {
    let delay = 1000;
    while (!this.#stop.signal.aborted) {
      try {
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
          return;
        }
      }
      if (this.#stop.signal.aborted) return;
      this.#live = 'reconnecting';
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15_000);
      // Members may have changed meanwhile.
      void roomsApi.members(this.id).then(({ members }) => (this.#members = members), () => {});
    }
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

  /** Sends a message; the server's answer (and the event) put it in the list. */
  async send(content: string) {
    const id = crypto.randomUUID();
    const { message } = await roomsApi.post(this.id, id, content);
    if (!this.#messages.some((m) => m.id === message.id)) this.#messages = order([...this.#messages, message]);
    if (this.#room && !this.#room.joined) this.#room = { ...this.#room, joined: true };
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

/** Oldest first, by creation time then id (as the server pages them). */
function order(messages: RoomMessage[]) {
  return [...messages].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}


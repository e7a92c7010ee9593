import type { ReplyEvent } from '../../server/replies/model';
import type { Loose } from './answers';

type Intersect<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/**
 * An event's data, typed from the server's ReplyEvent schemas: every field any reply event
 * carries (message, id, text, threadId, title, error), so a test reads the one its event has.
 */
export type SseData = Loose<Intersect<ReplyEvent['data']>>;

/** Reads a text/event-stream Response event by event, noting when each arrived. */
export interface SseEvent {
  event: string;
  data: SseData;
  at: number;
}

export class SseReader {
  events: SseEvent[] = [];
  comments: string[] = [];
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = '';
  #decoder = new TextDecoder();
  closed = false;

  constructor(public res: Response) {
    if (!res.body) throw new Error(`no body (status ${res.status})`);
    this.#reader = res.body.getReader();
  }

  /** The next event (skipping comments), or null when the stream ended. */
  async next(): Promise<SseEvent | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (!data.length) continue;
        const parsed = { event, data: JSON.parse(data.join('\n')), at: performance.now() };
        this.events.push(parsed);
        return parsed;
      }
      const { value, done } = await this.#reader.read();
      if (done) {
        this.closed = true;
        return null;
      }
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Reads until the stream ends; returns every event. */
  async all(): Promise<SseEvent[]> {
    while (await this.next());
    return this.events;
  }

  /** Reads until an event of this name arrives. */
  async until(name: string): Promise<SseEvent> {
    for (;;) {
      const e = await this.next();
      if (!e) throw new Error(`stream ended before "${name}"; got ${this.events.map((x) => x.event).join(', ')}`);
      if (e.event === name) return e;
    }
  }

  text(): string {
    return this.events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
  }

  async cancel() {
    await this.#reader.cancel().catch(() => {});
  }
}

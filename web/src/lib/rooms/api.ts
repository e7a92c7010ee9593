/** The rooms API (docs/api.md, "Rooms"), on the one API client. */
import { json, send, parseSSE } from '$lib/api';
import type { Member, Room, RoomEvent, RoomMessage, CreateRoomBody, UpdateRoomBody } from '$server/rooms/model';

export type { Member, Room, RoomEvent, RoomMessage };

const enc = encodeURIComponent;

export const roomsApi = {
  list: () => json<{ rooms: Room[] }>('GET', '/api/rooms'),
  create: (body: CreateRoomBody) => json<{ room: Room }>('POST', '/api/rooms', body),
  get: (id: string) => json<{ room: Room }>('GET', `/api/rooms/${enc(id)}`),
  update: (id: string, body: UpdateRoomBody) => json<{ room: Room }>('PATCH', `/api/rooms/${enc(id)}`, body),
  remove: (id: string) => json<void>('DELETE', `/api/rooms/${enc(id)}`),
  members: (id: string) => json<{ members: Member[] }>('GET', `/api/rooms/${enc(id)}/members`),
  addMember: (id: string, email: string) => json<{ member: Member }>('POST', `/api/rooms/${enc(id)}/members`, { email }),
  removeMember: (id: string, userId: string) => json<void>('DELETE', `/api/rooms/${enc(id)}/members/${enc(userId)}`),
  join: (id: string) => json<{ member: Member }>('POST', `/api/rooms/${enc(id)}/join`),
  messages: (id: string, before?: string | null, limit = 100) =>
    json<{ messages: RoomMessage[]; nextCursor: string | null }>(
      'GET',
      `/api/rooms/${enc(id)}/messages?limit=${limit}${before ? `&before=${enc(before)}` : ''}`,
    ),
  post: (id: string, messageId: string, content: string) =>
    json<{ message: RoomMessage }>('POST', `/api/rooms/${enc(id)}/messages`, { id: messageId, content }),
  removeMessage: (id: string, messageId: string) => json<void>('DELETE', `/api/rooms/${enc(id)}/messages/${enc(messageId)}`),
  typing: (id: string) => json<void>('POST', `/api/rooms/${enc(id)}/typing`),
  /** The live events after `since`, parsed; ends when the stream does. */
  async *events(id: string, since: number, signal: AbortSignal): AsyncGenerator<RoomEvent> {
    const res = await send('GET', `/api/rooms/${enc(id)}/events?since=${since}`, undefined, { signal });
    for await (const e of parseSSE(res.body!)) yield { event: e.event, data: JSON.parse(e.data) } as RoomEvent;
  },
};

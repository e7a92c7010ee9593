/** Rooms' wire contract: bodies, answers and the events of a room's stream. */
import { t } from 'elysia';
import { IsoDate, NextCursor } from '../http/model';

export const RoomParams = t.Object({ id: t.String({ format: 'uuid', error: 'must be a room id' }) });
export const RoomMemberParams = t.Object({
  id: t.String({ format: 'uuid', error: 'must be a room id' }),
  userId: t.String({ format: 'uuid', error: 'must be a user id' }),
});
export const RoomMessageParams = t.Object({
  id: t.String({ format: 'uuid', error: 'must be a room id' }),
  messageId: t.String({ format: 'uuid', error: 'must be a message id' }),
});

const Visibility = t.Union([t.Literal('public'), t.Literal('private')], { error: 'must be public or private' });
const Name = t.String({ minLength: 1, maxLength: 80, error: 'must be 1 to 80 characters' });
const Description = t.String({ maxLength: 500, error: 'must be at most 500 characters' });
const Model = t.Union([t.String({ minLength: 1, maxLength: 200, error: 'must be a model id' }), t.Null()]);
const SystemPrompt = t.Union([t.String({ maxLength: 8000, error: 'must be at most 8,000 characters' }), t.Null()]);
const Voice = t.Union([t.String({ minLength: 1, maxLength: 100, error: 'must be a voice name' }), t.Null()]);

export const CreateRoomBody = t.Object({
  name: Name,
  description: t.Optional(Description),
  visibility: Visibility,
  model: t.Optional(Model),
  systemPrompt: t.Optional(SystemPrompt),
  voice: t.Optional(Voice),
});
export type CreateRoomBody = typeof CreateRoomBody.static;

export const UpdateRoomBody = t.Partial(
  t.Object({ name: Name, description: Description, visibility: Visibility, model: Model, systemPrompt: SystemPrompt, voice: Voice }),
);
export type UpdateRoomBody = typeof UpdateRoomBody.static;

export const Room = t.Object(
  {
    id: t.String(),
    name: t.String(),
    description: t.String(),
    visibility: Visibility,
    model: t.Union([t.String(), t.Null()]),
    systemPrompt: t.Union([t.String(), t.Null()]),
    voice: t.Union([t.String(), t.Null()]),
    ownerId: t.String(),
    memberCount: t.Number(),
    /** Whether the caller is a member (a public room can be read before joining). */
    joined: t.Boolean(),
    /** The room's latest event sequence number (for `events?since=`). */
    seq: t.Number(),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  },
  { title: 'Room' },
);
export type Room = typeof Room.static;

export const RoomAnswer = t.Object({ room: Room });
export const RoomList = t.Object({ rooms: t.Array(Room) });

export const Member = t.Object(
  {
    userId: t.String(),
    name: t.String(),
    role: t.Union([t.Literal('owner'), t.Literal('member')]),
    online: t.Boolean(),
  },
  { title: 'RoomMember' },
);
export type Member = typeof Member.static;
export const MemberList = t.Object({ members: t.Array(Member) });
export const AddMemberBody = t.Object({ email: t.String({ minLength: 3, maxLength: 320, error: 'must be an email address' }) });
export const MemberAnswer = t.Object({ member: Member });

export const RoomMessageStatus = t.Union([
  t.Literal('queued'),
  t.Literal('streaming'),
  t.Literal('complete'),
  t.Literal('error'),
  t.Literal('removed'),
]);

export const RoomMessage = t.Object(
  {
    id: t.String(),
    roomId: t.String(),
    authorId: t.Union([t.String(), t.Null()]),
    authorName: t.String(),
    role: t.Union([t.Literal('user'), t.Literal('assistant')]),
    content: t.String(),
    status: RoomMessageStatus,
    error: t.Union([t.String(), t.Null()]),
    replyTo: t.Union([t.String(), t.Null()]),
    model: t.Union([t.String(), t.Null()]),
    seq: t.Number(),
    createdAt: IsoDate,
  },
  { title: 'RoomMessage' },
);
export type RoomMessage = typeof RoomMessage.static;

/** At most this many characters per message (the moderation cap). */
export const MAX_ROOM_MESSAGE = 4000;

export const PostMessageBody = t.Object({
  id: t.String({ format: 'uuid', error: 'must be a UUID made by the client' }),
  content: t.String({ minLength: 1, maxLength: MAX_ROOM_MESSAGE, error: `must be 1 to ${MAX_ROOM_MESSAGE} characters` }),
});
export const MessageAnswer = t.Object({ message: RoomMessage });
export const MessagePage = t.Object({ messages: t.Array(RoomMessage), nextCursor: NextCursor });
export const PageQuery = t.Object({
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 200, error: 'must be 1 to 200' })),
  before: t.Optional(t.String({ maxLength: 200 })),
});
export const EventsQuery = t.Object({
  since: t.Optional(t.Numeric({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, error: 'must be a sequence number' })),
});

/**
 * The events of GET /api/rooms/:id/events. `message` carries a message whole (new,
 * or changed: replayed after `since`, finished, removed); `delta` appends text to a
 * streaming reply; `done` ends one. Every message event has the room's `seq`;
 * presence and typing carry the room's current `seq` and are not replayed.
 */
export const RoomEvent = t.Union([
  t.Object({ event: t.Literal('message'), data: t.Object({ seq: t.Number(), message: RoomMessage }) }),
  t.Object({ event: t.Literal('delta'), data: t.Object({ seq: t.Number(), id: t.String(), text: t.String() }) }),
  t.Object({ event: t.Literal('done'), data: t.Object({ seq: t.Number(), message: RoomMessage }) }),
  t.Object({
    event: t.Literal('presence'),
    data: t.Object({ seq: t.Number(), userId: t.String(), name: t.String(), online: t.Boolean() }),
  }),
  t.Object({ event: t.Literal('typing'), data: t.Object({ seq: t.Number(), userId: t.String(), name: t.String() }) }),
]);
export type RoomEvent = typeof RoomEvent.static;

/** Messages per member per minute (ROOM_MESSAGE_LIMIT sets the count), and rooms created per user per hour. */
export const MESSAGE_LIMIT = { max: 20, windowSeconds: 60 };
export const CREATE_LIMIT = { max: 20, windowSeconds: 3600 };

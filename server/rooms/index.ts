/**
 * Rooms (docs/api.md, "Rooms"): several people and the assistant in one live
 * conversation. One service call per route; every route checks who may do it
 * (signed in, the rooms permission, visibility, owner or admin) before any work.
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors, NoContent } from '../http/model';
import { eventStreamResponse } from '../openapi';
import type { RoomBus } from './bus';
import { RoomHubs } from './hub';
import * as rooms from './service';
import {
  AddMemberBody,
  CreateRoomBody,
  EventsQuery,
  MemberAnswer,
  MemberList,
  MessageAnswer,
  MessagePage,
  PageQuery,
  PostMessageBody,
  RoomEvent,
  RoomAnswer,
  RoomList,
  RoomMemberParams,
  RoomMessageParams,
  RoomParams,
  UpdateRoomBody,
} from './model';

export type { RoomBus } from './bus';
export { createRoomBus } from './bus';

export function roomsRoutes(
  input: Pick<AppDeps, 'sql' | 'config' | 'providers' | 'auth'> & { rooms: RoomBus } & Pick<rooms.RoomsDeps, 'push' | 'streams'>,
) {
  const deps = { ...input, bus: input.rooms };
  // This instance's one reader per room, shared by all its streams of that room.
  const hubs = new RoomHubs(deps.sql, deps.bus);
  // Who has each room open here (presence; a mention of them is not pushed).
  const viewers = new rooms.RoomViewers();
  return new Elysia({ name: 'rooms', prefix: '/api/rooms' })
    .use(deps.auth)
    .get('/', async ({ user }) => ({ rooms: await rooms.listRooms(deps, user) }), {
      requirePermission: 'rooms',
      response: withErrors({ 200: RoomList }),
    })
    .post(
      '/',
      async ({ user, body, set }) => {
        set.status = 201;
        return { room: await rooms.createRoom(deps, user, body) };
      },
      { requirePermission: 'rooms', body: CreateRoomBody, response: withErrors({ 201: RoomAnswer }) },
    )
    .get('/:id', async ({ user, params }) => ({ room: await rooms.getRoom(deps, user, params.id) }), {
      requirePermission: 'rooms',
      params: RoomParams,
      response: withErrors({ 200: RoomAnswer }),
    })
    .patch('/:id', async ({ user, params, body }) => ({ room: await rooms.updateRoom(deps, user, params.id, body) }), {
      requirePermission: 'rooms',
      params: RoomParams,
      body: UpdateRoomBody,
      response: withErrors({ 200: RoomAnswer }),
    })
    .delete(
      '/:id',
      async ({ user, params, set }) => {
        await rooms.deleteRoom(deps, user, params.id);
        set.status = 204;
      },
      { requirePermission: 'rooms', params: RoomParams, response: withErrors({ 204: NoContent }) },
    )
    .get('/:id/members', async ({ user, params }) => ({ members: await rooms.listMembers(deps, user, params.id) }), {
      requirePermission: 'rooms',
      params: RoomParams,
      response: withErrors({ 200: MemberList }),
    })
    .post(
      '/:id/members',
      async ({ user, params, body, set }) => {
        set.status = 201;
        return { member: await rooms.addMember(deps, user, params.id, body.email) };
      },
      { requirePermission: 'rooms', params: RoomParams, body: AddMemberBody, response: withErrors({ 201: MemberAnswer }) },
    )
    .delete(
      '/:id/members/:userId',
      async ({ user, params, set }) => {
        await rooms.removeMember(deps, user, params.id, params.userId);
        set.status = 204;
      },
      { requirePermission: 'rooms', params: RoomMemberParams, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/:id/join',
      async ({ user, params, set }) => {
        set.status = 201;
        return { member: await rooms.join(deps, user, params.id) };
      },
      { requirePermission: 'rooms', params: RoomParams, response: withErrors({ 201: MemberAnswer }) },
    )
    .get(
      '/:id/messages',
      async ({ user, params, query }) => rooms.pageMessages(deps, user, params.id, query.before, query.limit),
      { requirePermission: 'rooms', params: RoomParams, query: PageQuery, response: withErrors({ 200: MessagePage }) },
    )
    .post(
      '/:id/messages',
      async ({ user, params, body, set }) => {
        const { message, created } = await rooms.postMessage(deps, user, params.id, body, viewers);
        set.status = created ? 201 : 200;
        return { message };
      },
      { requirePermission: 'rooms', params: RoomParams, body: PostMessageBody, response: withErrors({ 200: MessageAnswer, 201: MessageAnswer }) },
    )
    .delete(
      '/:id/messages/:messageId',
      async ({ user, params, set }) => {
        await rooms.removeMessage(deps, user, params.id, params.messageId);
        set.status = 204;
      },
      { requirePermission: 'rooms', params: RoomMessageParams, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/:id/typing',
      async ({ user, params, set }) => {
        await rooms.typing(deps, user, params.id);
        set.status = 204;
      },
      { requirePermission: 'rooms', params: RoomParams, response: withErrors({ 204: NoContent }) },
    )
    .get(
      '/:id/events',
      async ({ user, sessionId, params, query, request, server }) => {
        // A reconnecting EventSource sends the last id it saw.
        const lastId = Number(request.headers.get('last-event-id'));
        const since = query.since ?? (Number.isSafeInteger(lastId) && lastId >= 0 && request.headers.has('last-event-id') ? lastId : null);
        server?.timeout(request, 0);
        return rooms.events(deps, hubs, user, params.id, since, request.signal, viewers, sessionId);
      },
      {
        requirePermission: 'rooms',
        params: RoomParams,
        query: EventsQuery,
        detail: eventStreamResponse(RoomEvent),
      },
    );
}

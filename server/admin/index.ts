/**
 * The admin console's API, /api/admin/* — every route behind `requireRole: 'admin'`
 * (401 signed out, 403 for any other role) before it does anything.
 *   users:        GET /users, POST /users (invite), PATCH|DELETE /users/:id,
 *                 POST /users/:id/password-reset, PUT /users/:id/quota
 *   permissions:  GET|PUT /permissions
 *   usage:        GET /usage (?format=csv), POST /usage/summary, GET /transactions, GET|PUT /prices
 *   flags:        GET /flags, GET|PATCH /flags/:id
 */
import { Elysia, t } from 'elysia';
import type { AppDeps } from '../deps';
import type { Generations } from '../replies/generations';
import { notFound } from '../errors';
import { NoContent, withErrors } from '../http/model';
import { PermissionsDocument, permissionsDocument, savePermissionsDocument } from '../auth/permissions';
import { QuotaUpdate } from '../quota/model';
import { setQuota } from '../quota/service';
import { flagDetail, listFlags, setFlagStatus } from '../flags/service';
import {
  AdminUserAnswer,
  FlagAnswer,
  FlagDetail,
  FlagPage,
  FlagPatch,
  FlagsQuery,
  InviteBody,
  Invited,
  Prices,
  QuotaAnswerAdmin,
  ResetLink,
  Summary,
  SummaryBody,
  TransactionPage,
  TransactionsQuery,
  Usage,
  UsageQuery,
  UserIdParams,
  UserPage,
  UserPatch,
  UsersQuery,
} from './model';
import * as users from './users';
import { getPrices, listTransactions, setPrices, summarize, usage, usageCsv } from './usage';

export function adminRoutes(deps: AppDeps & { generations: Generations }) {
  const { sql } = deps;
  return new Elysia({ name: 'admin', prefix: '/api/admin' })
    .use(deps.auth)
    .get('/users', ({ query }) => users.listUsers(sql, query), {
      requireRole: 'admin',
      query: UsersQuery,
      response: withErrors({ 200: UserPage }),
    })
    .post(
      '/users',
      async ({ body, set }) => {
        const invited = await users.inviteUser(deps, body);
        set.status = 201;
        set.headers['cache-control'] = 'no-store';
        return invited;
      },
      { requireRole: 'admin', body: InviteBody, response: withErrors({ 201: Invited }) },
    )
    .patch(
      '/users/:id',
      async ({ params, body }) => {
        const { user, cut } = await users.patchUser(sql, params.id, body);
        // Disabled: its replies in flight stop and its open streams end now (other instances hear
        // the database's user_disabled notification); its next request is already refused.
        if (cut) await deps.hooks.afterAccountDisabled(params.id);
        return { user };
      },
      { requireRole: 'admin', params: UserIdParams, body: UserPatch, response: withErrors({ 200: AdminUserAnswer }) },
    )
    .delete(
      '/users/:id',
      async ({ params, set }) => {
        await users.checkDeletable(sql, params.id);
        await deps.hooks.beforeAccountDelete(params.id);
        await users.deleteUser(sql, params.id);
        set.status = 204;
      },
      { requireRole: 'admin', params: UserIdParams, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/users/:id/password-reset',
      async ({ params, set }) => {
        const link = await users.passwordResetLink(deps, params.id);
        set.status = 201;
        set.headers['cache-control'] = 'no-store';
        return link;
      },
      { requireRole: 'admin', params: UserIdParams, response: withErrors({ 201: ResetLink }) },
    )
    .put(
      '/users/:id/quota',
      async ({ params, body, user }) => {
        const quota = await setQuota(sql, params.id, body, user.id);
        if (!quota) throw notFound('User');
        return { quota };
      },
      { requireRole: 'admin', params: UserIdParams, body: QuotaUpdate, response: withErrors({ 200: QuotaAnswerAdmin }) },
    )
    .get('/permissions', () => permissionsDocument(sql), {
      requireRole: 'admin',
      response: withErrors({ 200: PermissionsDocument }),
    })
    .put('/permissions', ({ body }) => savePermissionsDocument(sql, body), {
      requireRole: 'admin',
      body: PermissionsDocument,
      response: withErrors({ 200: PermissionsDocument }),
    })
    .get('/transactions', ({ query }) => listTransactions(sql, query), {
      requireRole: 'admin',
      query: TransactionsQuery,
      response: withErrors({ 200: TransactionPage }),
    })
    .get(
      '/usage',
      async ({ query, set }) => {
        const data = await usage(sql, query.from, query.to, query.groupBy ?? 'day');
        if (query.format !== 'csv') return data;
        set.headers['content-type'] = 'text/csv; charset=utf-8';
        set.headers['content-disposition'] = `attachment; filename="parley-usage-${query.from}-${query.to}-${query.groupBy ?? 'day'}.csv"`;
        set.headers['cache-control'] = 'no-store';
        return usageCsv(data);
      },
      {
        requireRole: 'admin',
        query: UsageQuery,
        response: withErrors({ 200: t.Union([Usage, t.String({ description: 'text/csv with ?format=csv' })]) }),
      },
    )
    .post('/usage/summary', async ({ body, user }) => ({ summary: await summarize(deps, user.id, body.from, body.to) }), {
      requireRole: 'admin',
      body: SummaryBody,
      response: withErrors({ 200: Summary }),
    })
    .get('/prices', () => getPrices(sql), { requireRole: 'admin', response: withErrors({ 200: Prices }) })
    .put('/prices', ({ body }) => setPrices(sql, body), {
      requireRole: 'admin',
      body: Prices,
      response: withErrors({ 200: Prices }),
    })
    .get('/flags', ({ query }) => listFlags(sql, query), {
      requireRole: 'admin',
      query: FlagsQuery,
      response: withErrors({ 200: FlagPage }),
    })
    .get(
      '/flags/:id',
      async ({ params }) => {
        const detail = await flagDetail(sql, params.id);
        if (!detail) throw notFound('Flag');
        return detail;
      },
      { requireRole: 'admin', params: UserIdParams, response: withErrors({ 200: FlagDetail }) },
    )
    .patch('/flags/:id', async ({ params, body, user }) => ({ flag: await setFlagStatus(sql, params.id, body.status, user.id) }), {
      requireRole: 'admin',
      params: UserIdParams,
      body: FlagPatch,
      response: withErrors({ 200: FlagAnswer }),
    });
}

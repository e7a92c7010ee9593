/** Schemas of the admin console's routes (/api/admin/*) and the flags. */
import { t } from 'elysia';
import { IsoDate, NextCursor } from '../http/model';
import { User } from '../auth/model';
import { Role } from '../auth/permissions';
import { Quota } from '../quota/model';

const Limit = t.Optional(t.Integer({ minimum: 1, maximum: 200, error: 'must be an integer from 1 to 200' }));
const Cursor = t.Optional(t.String({ maxLength: 100 }));
export const UserIdParams = t.Object({ id: t.String({ format: 'uuid', error: 'must be a UUID' }) });

export const AdminUser = t.Object(
  {
    id: t.String(),
    email: t.String(),
    name: t.String(),
    role: Role,
    disabled: t.Boolean(),
    createdAt: IsoDate,
    lastSeenAt: t.Union([IsoDate, t.Null()]),
    quota: Quota,
  },
  { title: 'AdminUser' },
);
export type AdminUser = typeof AdminUser.static;

export const UsersQuery = t.Object({ q: t.Optional(t.String({ maxLength: 200 })), limit: Limit, before: Cursor });
export const UserPage = t.Object({ users: t.Array(AdminUser), nextCursor: NextCursor });
export type UserPage = typeof UserPage.static;

export const InviteBody = t.Object({
  email: t.String({ format: 'email', maxLength: 254, error: 'must be a valid email address' }),
  name: t.Optional(t.String({ maxLength: 100 })),
  role: Role,
});
export type InviteBody = typeof InviteBody.static;
export const Invited = t.Object({ user: AdminUser, inviteUrl: t.String(), expiresAt: IsoDate });
export type Invited = typeof Invited.static;

export const UserPatch = t.Object({
  role: t.Optional(Role),
  disabled: t.Optional(t.Boolean()),
  name: t.Optional(t.String({ maxLength: 100 })),
});
export type UserPatch = typeof UserPatch.static;
export const AdminUserAnswer = t.Object({ user: AdminUser });
export type AdminUserAnswer = typeof AdminUserAnswer.static;

export const ResetLink = t.Object({ url: t.String(), expiresAt: IsoDate });
export type ResetLink = typeof ResetLink.static;

export const QuotaAnswerAdmin = t.Object({ quota: Quota });

export const DateOnly = t.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', error: 'must be a date YYYY-MM-DD' });

export const Transaction = t.Object(
  {
    id: t.String(),
    userId: t.String(),
    kind: t.Union([t.Literal('grant'), t.Literal('debit'), t.Literal('adjust')]),
    tokens: t.Number(),
    balanceAfter: t.Union([t.Number(), t.Null()]),
    tokensIn: t.Number(),
    tokensOut: t.Number(),
    source: t.Union([t.String(), t.Null()]),
    messageId: t.Union([t.String(), t.Null()]),
    model: t.Union([t.String(), t.Null()]),
    note: t.String(),
    actorId: t.Union([t.String(), t.Null()]),
    createdAt: IsoDate,
  },
  { title: 'Transaction' },
);
export type Transaction = typeof Transaction.static;
export const TransactionsQuery = t.Object({
  userId: t.Optional(t.String({ format: 'uuid', error: 'must be a UUID' })),
  kind: t.Optional(t.Union([t.Literal('grant'), t.Literal('debit'), t.Literal('adjust')])),
  from: t.Optional(DateOnly),
  to: t.Optional(DateOnly),
  limit: Limit,
  before: Cursor,
});
export const TransactionPage = t.Object({ transactions: t.Array(Transaction), nextCursor: NextCursor });
export type TransactionPage = typeof TransactionPage.static;

export const GroupBy = t.Union([t.Literal('day'), t.Literal('month'), t.Literal('user'), t.Literal('model')]);
export type GroupBy = typeof GroupBy.static;
export const UsageQuery = t.Object({
  from: DateOnly,
  to: DateOnly,
  groupBy: t.Optional(GroupBy),
  format: t.Optional(t.Union([t.Literal('json'), t.Literal('csv')])),
});
const UsageFigures = { tokensIn: t.Number(), tokensOut: t.Number(), replies: t.Number(), cost: t.Number() };
export const UsageRow = t.Object({ key: t.String(), label: t.String(), ...UsageFigures }, { title: 'UsageRow' });
export type UsageRow = typeof UsageRow.static;
export const Usage = t.Object({ rows: t.Array(UsageRow), totals: t.Object(UsageFigures) });
export type Usage = typeof Usage.static;
export const SummaryBody = t.Object({ from: DateOnly, to: DateOnly });
export const Summary = t.Object({ summary: t.String() });
export type Summary = typeof Summary.static;

export const Price = t.Object({ input: t.Number({ minimum: 0, maximum: 1e6 }), output: t.Number({ minimum: 0, maximum: 1e6 }) });
export const Prices = t.Record(t.String({ maxLength: 200 }), Price);
export type Prices = typeof Prices.static;

export const FlagStatus = t.Union([t.Literal('open'), t.Literal('resolved'), t.Literal('dismissed')]);
export const Flag = t.Object(
  {
    id: t.String(),
    messageId: t.String(),
    threadId: t.Union([t.String(), t.Null()]),
    roomId: t.Union([t.String(), t.Null()]),
    userId: t.String(),
    reason: t.String(),
    status: FlagStatus,
    excerpt: t.String(),
    createdAt: IsoDate,
  },
  { title: 'Flag' },
);
export type Flag = typeof Flag.static;
export const FlagBody = t.Object({ reason: t.String({ minLength: 1, maxLength: 1000, error: 'must be 1 to 1000 characters' }) });
export const FlagAnswer = t.Object({ flag: Flag });
export type FlagAnswer = typeof FlagAnswer.static;
export const FlagsQuery = t.Object({ status: t.Optional(FlagStatus), limit: Limit, before: Cursor });
export const FlagPage = t.Object({ flags: t.Array(Flag), nextCursor: NextCursor });
export type FlagPage = typeof FlagPage.static;
export const FlagPatch = t.Object({ status: FlagStatus });
/** A flagged message in context: the conversation up to it (its branch, last few turns). */
export const FlagDetail = t.Object({
  flag: Flag,
  reporter: t.Union([t.Object({ id: t.String(), email: t.String(), name: t.String() }), t.Null()]),
  context: t.Array(t.Object({ id: t.String(), role: t.String(), content: t.String(), model: t.Union([t.String(), t.Null()]), createdAt: IsoDate })),
});
export type FlagDetail = typeof FlagDetail.static;

export { User };

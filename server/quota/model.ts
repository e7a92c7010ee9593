import { t } from 'elysia';
import { IsoDate } from '../http/model';
import { Period } from '../auth/permissions';

/** An account's quota: balance in tokens (null = unlimited), refilled to `grant` every `period`. */
export const Quota = t.Object(
  {
    balance: t.Union([t.Number(), t.Null()]),
    grant: t.Union([t.Number(), t.Null()]),
    period: Period,
    nextGrantAt: t.Union([IsoDate, t.Null()]),
  },
  { title: 'Quota' },
);
export type Quota = typeof Quota.static;

/** GET /api/quota: the caller's quota and what they used this period. */
export const QuotaAnswer = t.Object({
  quota: Quota,
  used: t.Object({ tokensIn: t.Number(), tokensOut: t.Number() }),
});
export type QuotaAnswer = typeof QuotaAnswer.static;

export const QuotaUpdate = t.Object({
  balance: t.Optional(t.Union([t.Integer({ minimum: -1e12, maximum: 1e12 }), t.Null()])),
  grant: t.Optional(t.Union([t.Integer({ minimum: 0, maximum: 1e12 }), t.Null()])),
  period: t.Optional(Period),
  note: t.Optional(t.String({ maxLength: 500 })),
});
export type QuotaUpdate = typeof QuotaUpdate.static;

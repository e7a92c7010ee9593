/**
 * The admin console's client (/api/admin/*), loaded with the console only. Same `json`
 * helper as the app's client: cookies, one refresh on a 401, ApiError on failure.
 */
import { json } from '$lib/api';
import type {
  AdminUserAnswer,
  FlagAnswer,
  FlagDetail,
  FlagPage,
  GroupBy,
  Invited,
  InviteBody,
  Prices,
  ResetLink,
  Summary,
  TransactionPage,
  Usage,
  UserPage,
  UserPatch,
} from '$server/admin/model';
import type { PermissionsDocument } from '$server/auth/permissions';
import type { Quota, QuotaUpdate } from '$server/quota/model';

const enc = encodeURIComponent;
const query = (params: Record<string, string | number | null | undefined>) => {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${enc(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
};

export const admin = {
  users: {
    list: (q: string, before?: string | null, limit = 50) => json<UserPage>('GET', `/api/admin/users${query({ q, before, limit })}`),
    invite: (body: InviteBody) => json<Invited>('POST', '/api/admin/users', body),
    update: (id: string, patch: UserPatch) => json<AdminUserAnswer>('PATCH', `/api/admin/users/${enc(id)}`, patch),
    remove: (id: string) => json<void>('DELETE', `/api/admin/users/${enc(id)}`),
    resetLink: (id: string) => json<ResetLink>('POST', `/api/admin/users/${enc(id)}/password-reset`),
    setQuota: (id: string, body: QuotaUpdate) => json<{ quota: Quota }>('PUT', `/api/admin/users/${enc(id)}/quota`, body),
  },
  permissions: {
    get: () => json<PermissionsDocument>('GET', '/api/admin/permissions'),
    put: (doc: PermissionsDocument) => json<PermissionsDocument>('PUT', '/api/admin/permissions', doc),
  },
  usage: {
    get: (from: string, to: string, groupBy: GroupBy) => json<Usage>('GET', `/api/admin/usage${query({ from, to, groupBy })}`),
    csvUrl: (from: string, to: string, groupBy: GroupBy) => `/api/admin/usage${query({ from, to, groupBy, format: 'csv' })}`,
    summary: (from: string, to: string) => json<Summary>('POST', '/api/admin/usage/summary', { from, to }),
  },
  transactions: (filter: { userId?: string; kind?: string; from?: string; to?: string; before?: string | null; limit?: number }) =>
    json<TransactionPage>('GET', `/api/admin/transactions${query(filter)}`),
  prices: {
    get: () => json<Prices>('GET', '/api/admin/prices'),
    put: (prices: Prices) => json<Prices>('PUT', '/api/admin/prices', prices),
  },
  flags: {
    list: (status: 'open' | 'resolved' | 'dismissed', before?: string | null) => json<FlagPage>('GET', `/api/admin/flags${query({ status, before })}`),
    get: (id: string) => json<FlagDetail>('GET', `/api/admin/flags/${enc(id)}`),
    set: (id: string, status: 'open' | 'resolved' | 'dismissed') => json<FlagAnswer>('PATCH', `/api/admin/flags/${enc(id)}`, { status }),
  },
};

/** Today and a number of days back, as YYYY-MM-DD (local dates, as the date inputs show them). */
export function isoDay(date: Date) {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
export const daysAgo = (n: number) => isoDay(new Date(Date.now() - n * 86400_000));

export const formatTokens = (n: number) => n.toLocaleString();
export const formatCost = (n: number) => n.toLocaleString(undefined, { style: 'currency', currency: 'USD', maximumFractionDigits: 4 });

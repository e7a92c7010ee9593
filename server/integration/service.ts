import { normalizeEmail } from '../auth/email';
import type { Sql } from '../db';
import { randomToken } from '../crypto';
import { badRequest, HttpError } from '../errors';
import { hashPassword } from '../auth/passwords';
import { setQuota } from '../quota/service';
import { getUser } from '../admin/users';
import type { IntegrationBody } from './index';

/** Creates (email required) or updates the account linked to `externalId`, then its quota. */
export async function upsertExternalUser(sql: Sql, externalId: string, body: IntegrationBody) {
  const placeholder = await hashPassword(randomToken());
  const id = await sql.begin(async (tx) => {
    const [existing] = await tx<{ id: string; role: string; disabled: boolean }[]>`
      select id, role, disabled from users where external_id = ${externalId} for update`;
    if (!existing) {
      if (!body.email) throw badRequest({ email: 'is required to create an account' });
      // An account with that email already (made by hand) is linked rather than duplicated.
      const [linked] = await tx<{ id: string }[]>`
        update users set external_id = ${externalId}, updated_at = now()
        where email = ${normalizeEmail(body.email)} and external_id is null returning id`;
      if (linked) return linked.id;
      const [row] = await tx<{ id: string }[]>`
        insert into users (email, name, password_hash, role, external_id)
        values (${normalizeEmail(body.email)}, ${(body.name ?? '').trim()}, ${placeholder}, ${body.role ?? 'user'}, ${externalId})
        returning id`;
      return row!.id;
    }
    if (existing.role === 'admin' && body.role && body.role !== 'admin' && !existing.disabled) {
      const admins = await tx`select id from users where role = 'admin' and not disabled order by id for update`;
      if (admins.length === 1) throw new HttpError(409, 'last_admin', 'This is the last active admin');
    }
    await tx`
      update users set
        email = coalesce(${body.email ? normalizeEmail(body.email) : null}, email),
        name = coalesce(${body.name?.trim() ?? null}, name),
        role = coalesce(${body.role ?? null}, role),
        updated_at = now()
      where id = ${existing.id}`;
    return existing.id;
  });
  if (body.quota) await setQuota(sql, id, body.quota, null, body.quota.note ?? 'set through the integration API');
  return getUser(sql, id);
}

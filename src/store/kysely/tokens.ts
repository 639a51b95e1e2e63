/**
 * Store methods for API tokens. Only the secret's hash is stored. `touchToken` runs on every
 * authenticated request, so it writes at most once a minute per token.
 */
import { NotFoundError } from '../../core/errors.js';
import type { Store } from '../store.js';
import { lockFor, recordChange, withLock } from './queries.js';
import { toTokenInfo, toTokenRecord } from './rows.js';
import type { StoreRuntime } from './runtime.js';

type TokenOperations = Pick<Store, 'createToken' | 'listTokens' | 'findTokenByHash' | 'revokeToken' | 'touchToken' | 'countTokens'>;

/** Last-use times finer than this are not worth a write. */
export const TOUCH_INTERVAL_MS = 60_000;

/** Token methods over the shared runtime. */
export function tokenOperations(rt: StoreRuntime): TokenOperations {
  // What this process last wrote per token: most touches end here without a query.
  const touched = new Map<string, number>();

  return {
    createToken: (input, audit) =>
      rt.write(async (trx) => {
        const token = { id: input.id, name: input.name, role: input.role, createdAt: rt.clock(), lastUsedAt: null, revokedAt: null };
        await trx
          .insertInto('tokens')
          .values({
            id: token.id,
            name: token.name,
            role: token.role,
            secret_hash: input.secretHash,
            created_at: token.createdAt,
            last_used_at: null,
            revoked_at: null,
          })
          .execute();
        const change = await recordChange(trx, rt, { kind: 'token', id: token.id, service: audit.service ?? null, audit, routing: false });
        return { value: token, change };
      }),

    listTokens: () =>
      rt.query(async (db) => (await db.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('id').execute()).map(toTokenInfo)),

    findTokenByHash: (secretHash) =>
      rt.query(async (db) => {
        const row = await db
          .selectFrom('tokens')
          .selectAll()
          .where('secret_hash', '=', secretHash)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return row && toTokenRecord(row);
      }),

    revokeToken: (id, audit) =>
      rt.write(async (trx) => {
        const row = await withLock(
          trx.selectFrom('tokens').selectAll().where('id', '=', id),
          lockFor(rt, 'no key update'),
        ).executeTakeFirst();
        if (!row) throw new NotFoundError('TERN_TOKEN_NOT_FOUND', `token ${id} does not exist`, { details: { token: id } });
        // Revoking twice keeps the first revocation time; the second request is still audited.
        const revokedAt = row.revoked_at === null ? rt.clock() : Number(row.revoked_at);
        if (row.revoked_at === null) await trx.updateTable('tokens').set({ revoked_at: revokedAt }).where('id', '=', id).execute();
        const change = await recordChange(trx, rt, { kind: 'token', id, service: audit.service ?? null, audit, routing: false });
        return { value: { ...toTokenInfo(row), revokedAt }, change };
      }),

    touchToken: async (id, at) => {
      const last = touched.get(id);
      if (last !== undefined && at - last < TOUCH_INTERVAL_MS) return;
      // One conditional statement: other processes' recent touches also skip the write.
      await rt.query((db) =>
        db
          .updateTable('tokens')
          .set({ last_used_at: at })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', at - TOUCH_INTERVAL_MS)]))
          .execute(),
      );
      touched.set(id, at);
    },

    countTokens: () =>
      rt.query(async (db) => {
        const row = await db
          .selectFrom('tokens')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('revoked_at', 'is', null)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      }),
  };
}

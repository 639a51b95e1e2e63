/**
 * Store methods for named leases: how several controllers sharing one database elect one
 * leader (docs/operations.md, "Failover"). Taking, renewing and taking over an expired lease are one atomic upsert,
 * so racing controllers cannot both win; times come from the store's clock.
 */
import { ValidationError } from '../../core/errors.js';
import type { Store } from '../store.js';
import type { StoreRuntime } from './runtime.js';

type LeaseOperations = Pick<Store, 'acquireLease' | 'releaseLease' | 'readLease'>;

/** Lease methods over the shared runtime. */
export function leaseOperations(rt: StoreRuntime): LeaseOperations {
  return {
    acquireLease: (name, holder, ttlMs) => {
      if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
        return Promise.reject(new ValidationError('ttlMs', `must be a positive number of milliseconds, got ${String(ttlMs)}`));
      }
      return rt.query(async (db) => {
        const now = Math.floor(rt.clock());
        const expiresAt = now + Math.ceil(ttlMs);
        // Insert, or update only when this holder already holds it (renewal) or it has expired
        // (takeover); otherwise the statement changes and returns nothing.
        const row = await db
          .insertInto('leases')
          .values({ name, holder, expires_at: expiresAt })
          .onConflict((oc) =>
            oc
              .column('name')
              .doUpdateSet({ holder, expires_at: expiresAt })
              .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', now)])),
          )
          .returning('holder')
          .executeTakeFirst();
        return row?.holder === holder;
      });
    },

    releaseLease: async (name, holder) => {
      await rt.query((db) => db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute());
    },

    readLease: (name) =>
      rt.query(async (db) => {
        const row = await db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
        if (row === undefined) return undefined;
        const expiresAt = Number(row.expires_at);
        return { holder: row.holder, expiresAt, live: expiresAt > Math.floor(rt.clock()) };
      }),
  };
}

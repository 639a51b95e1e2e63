/**
 * Store methods for the audit log: append an event that changed no state (a denied or
 * rejected request), and read the log newest first with filters.
 */
import type { Store } from '../store.js';
import { insertAudit, pageSize } from './queries.js';
import { toAuditEvent } from './rows.js';
import type { StoreRuntime } from './runtime.js';

/** Audit methods over the shared runtime. */
export function auditOperations(rt: StoreRuntime): Pick<Store, 'appendAudit' | 'listAudit'> {
  return {
    appendAudit: (event) => rt.write(async (trx) => ({ value: await insertAudit(trx, event, event.service ?? null, rt.clock()) })),

    listAudit: (filter) =>
      rt.query(async (db) => {
        const rows = await db
          .selectFrom('audit_events')
          .selectAll()
          .$if(filter.service !== undefined, (q) => q.where('service', '=', filter.service ?? ''))
          .$if(filter.actor !== undefined, (q) => q.where('actor', '=', filter.actor ?? ''))
          .$if(filter.action !== undefined, (q) => q.where('action', '=', filter.action ?? ''))
          .$if(filter.since !== undefined, (q) => q.where('at', '>=', filter.since ?? 0))
          .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before ?? 0))
          .orderBy('id', 'desc')
          .limit(pageSize(filter.limit))
          .execute();
        return rows.map(toAuditEvent);
      }),
  };
}

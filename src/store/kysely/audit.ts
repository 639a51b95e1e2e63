/**
 * Store methods for the audit log: append an event that changed no state (a denied or
 * rejected request), and read the log newest first with filters.
 */
import type { Store } from '../store.js';
import type { Kysely } from 'kysely';
import { insertAudit, pageSize } from './queries.js';
import type { Database } from './schema.js';
import { toAuditEvent } from './rows.js';
import type { StoreRuntime } from './runtime.js';

/** Audit methods over the shared runtime. */
export function auditOperations(
  rt: StoreRuntime,
): Pick<Store, 'appendAudit' | 'listAudit' | 'listAuditForExport' | 'auditExportMark' | 'markAuditExported' | 'pruneAudit'> {
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

    listAuditForExport: (range) =>
      rt.query(async (db) => {
        const rows = await db
          .selectFrom('audit_events')
          .selectAll()
          .where('id', '>', range.afterId ?? 0)
          .$if(range.since !== undefined, (q) => q.where('at', '>=', range.since ?? 0))
          .$if(range.until !== undefined, (q) => q.where('at', '<', range.until ?? 0))
          .orderBy('id', 'asc')
          .limit(pageSize(range.limit))
          .execute();
        return rows.map(toAuditEvent);
      }),

    auditExportMark: () => rt.query((db) => readMark(db)),

    markAuditExported: (throughId) =>
      rt.write(async (trx) => {
        const current = await readMark(trx);
        const next = Math.max(current, Math.floor(throughId));
        if (next > current)
          await trx
            .updateTable('meta')
            .set({ value: String(next) })
            .where('key', '=', MARK_KEY)
            .execute();
        return { value: next };
      }),

    pruneAudit: (before) =>
      rt.write(async (trx) => {
        const mark = await readMark(trx);
        const result = await trx.deleteFrom('audit_events').where('at', '<', before).where('id', '<=', mark).executeTakeFirst();
        return { value: Number(result.numDeletedRows) };
      }),
  };
}

const MARK_KEY = 'audit_exported_through';

async function readMark(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', MARK_KEY).executeTakeFirst();
  return Number(row?.value ?? 0);
}

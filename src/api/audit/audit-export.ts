/**
 * Streams the audit log as a verifiable export (format: src/core/audit-chain.ts), oldest
 * first, 1,000 events per store query. `until` cuts the export at the first event at or after
 * it, so an export without `since` covers every event up to its last id with no gap; only such
 * an export, once fully written to the connection, moves the store's export mark, which is
 * what retention pruning may delete up to (audit-retention.ts).
 */
import type { AuditEvent } from '../../core/types.js';
import { AUDIT_EXPORT_FORMAT, chainNext, chainStart, eventLine } from '../../core/audit-chain.js';
import type { Store } from '../../store/store.js';
import { auditJson } from '../present.js';

const PAGE = 1000;

export interface ExportRange {
  readonly since?: number;
  readonly until: number;
}

/** The export's lines (each ends with a newline); `onComplete` gets the last id when the range had no `since`. */
export async function* auditExportLines(
  store: Pick<Store, 'listAuditForExport'>,
  range: ExportRange,
  exportedAt: number,
  onComplete: (throughId: number | null) => void,
): AsyncGenerator<string> {
  const at = new Date(exportedAt).toISOString();
  let chain = chainStart(at);
  const header = {
    format: AUDIT_EXPORT_FORMAT,
    version: 1,
    exportedAt: at,
    since: range.since === undefined ? null : new Date(range.since).toISOString(),
    until: new Date(range.until).toISOString(),
    start: chain,
  };
  yield `${JSON.stringify(header)}\n`;
  let afterId = 0;
  let count = 0;
  let lastId: number | null = null;
  for (;;) {
    const page: AuditEvent[] = await store.listAuditForExport({
      afterId,
      ...(range.since === undefined ? {} : { since: range.since }),
      limit: PAGE,
    });
    const cut = page.findIndex((e) => e.at >= range.until);
    const inRange = cut === -1 ? page : page.slice(0, cut);
    let out = '';
    for (const event of inRange) {
      const json = JSON.stringify(auditJson(event));
      chain = chainNext(chain, json);
      out += `${eventLine(chain, json)}\n`;
      count++;
      lastId = event.id;
    }
    if (out) yield out;
    if (inRange.length < page.length || page.length < PAGE) break;
    afterId = page.at(-1)!.id;
  }
  yield `${JSON.stringify({ end: true, count, head: chain, throughId: lastId })}\n`;
  onComplete(range.since === undefined ? lastId : null);
}

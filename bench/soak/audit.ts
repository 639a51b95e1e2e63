/**
 * The soak's audit check: the verifiable export (GET /api/v1/audit/export) must verify as a
 * chain; every event id listed at any time during the run must still be there (none lost);
 * no id twice; and every release action the soak made that answered 2xx must have written
 * exactly one successful event (none lost, none duplicated) — an action whose answer never
 * came is reported with what was found.
 */
import { verifyExportLines } from '../../src/core/audit-chain.js';
import type { AuditEvent } from '../../src/core/types.js';
import type { TernCluster } from '../../test/support/tern-cluster.js';
import type { Expected } from './faults.js';

async function exportText(cluster: TernCluster): Promise<string> {
  let last: unknown;
  for (const s of cluster.servers) {
    try {
      const res = await fetch(`${s.apiUrl}/api/v1/audit/export`, { headers: { authorization: `Bearer ${cluster.adminToken}` } });
      if (res.ok) return await res.text();
      last = new Error(`${res.status}`);
    } catch (err) {
      last = err;
    }
  }
  throw new Error('no server gave the audit export', { cause: last });
}

/** Ids of the newest 1,000 events now (taken at every fault, so a later loss shows). */
export async function auditIds(cluster: TernCluster): Promise<number[]> {
  const { json } = await cluster.api<{ events: { id: number }[] }>('GET', '/api/v1/audit?limit=1000');
  return json.events.map((e) => e.id);
}

export interface AuditFindings {
  readonly lines: string[];
  readonly lost: number;
  readonly duplicated: number;
}

export async function checkAudit(cluster: TernCluster, expected: readonly Expected[], seen: ReadonlySet<number>): Promise<AuditFindings> {
  const lines: string[] = [];
  const text = await exportText(cluster);
  const rows = text.split('\n');
  try {
    const v = verifyExportLines(rows);
    lines.push(`chain verifies: ${v.count} events, head ${v.head.slice(0, 16)}…`);
  } catch (err) {
    lines.push(`CHAIN BROKEN: ${(err as Error).message}`);
  }
  const events = rows.filter((l) => l.startsWith('{"chain"')).map((l) => (JSON.parse(l) as { event: AuditEvent }).event);
  const ids = new Set(events.map((e) => e.id));
  const idTwice = events.length - ids.size;
  const lostSeen = [...seen].filter((id) => !ids.has(id));
  let lost = lostSeen.length;
  let duplicated = idTwice;
  lines.push(
    `events listed during the run and missing now: ${lostSeen.length}${lostSeen.length ? ` (${lostSeen.slice(0, 10).join(', ')})` : ''}`,
  );
  lines.push(`event ids present twice: ${idTwice}`);
  for (const x of expected) {
    const found = events.filter(
      (e) => e.action === x.action && e.target === `release/${x.releaseId}` && e.actor !== 'system' && e.outcome === 'success',
    ).length;
    const said = `${x.action} ${x.releaseId || '(no id)'} answered ${x.ok === null ? 'nothing' : x.ok ? '2xx' : 'an error'}: ${found} event(s)`;
    if (x.ok === true && found === 0) {
      lost++;
      lines.push(`LOST: ${said}`);
    } else if (found > 1) {
      duplicated++;
      lines.push(`DUPLICATED: ${said}`);
    } else if (x.ok !== true) lines.push(`note: ${said}`);
  }
  lines.push(`release actions made by the soak: ${expected.length}, each checked against the export`);
  // The controller's moves are written once per move: the same move (action, target, detail) twice is a duplicate.
  const moves = new Map<string, number>();
  for (const e of events.filter((e) => e.actor === 'system'))
    moves.set(
      `${e.action} ${e.target} ${JSON.stringify(e.detail)}`,
      (moves.get(`${e.action} ${e.target} ${JSON.stringify(e.detail)}`) ?? 0) + 1,
    );
  const repeated = [...moves].filter(([, n]) => n > 1);
  duplicated += repeated.length;
  lines.push(
    `controller events: ${events.filter((e) => e.actor === 'system').length}, repeated (same action, target and detail): ${repeated.length}`,
  );
  for (const [k, n] of repeated.slice(0, 5)) lines.push(`  ${n} × ${k.slice(0, 160)}`);
  return { lines, lost, duplicated };
}

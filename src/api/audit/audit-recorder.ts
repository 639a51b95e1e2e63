/**
 * Writes the audit events the API hook produces, aggregating the ones nobody vouches for.
 *
 * Rule (docs/security.md, "Audit of anonymous and denied traffic"): an event whose actor is
 * `anonymous` or whose outcome is `denied` is grouped by (actor, client address group — the IPv4
 * address or IPv6 /64 —, action, outcome, UTC minute). The first event of a group is written at
 * once, as any other; later ones in the same minute are only counted, and when the minute ends
 * one summary row (`detail.aggregate.count`) records how many more came. At most
 * `maxGroupsPerMinute` groups are opened per minute; past that every such event of the minute
 * is counted into one overflow row (actor `anonymous`, source `*`, action `audit.overflow`).
 * So anonymous and denied traffic writes at most 2 × maxGroupsPerMinute + 1 rows a minute,
 * whatever its rate. Authenticated successes, rejections and errors stay one row each.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AuditInput, Clock } from '../../core/types.js';
import type { Store } from '../../store/store.js';
import { addressGroup } from '../auth/client-address.js';

export const DEFAULT_MAX_AUDIT_GROUPS_PER_MINUTE = 100;
const MINUTE_MS = 60_000;
const OVERFLOW = 'overflow';

interface Group {
  readonly first: AuditInput;
  readonly minute: number;
  /** Events counted but not written (the first one is written). */
  suppressed: number;
  lastTarget: string;
  lastReason: string | null;
}

export interface AuditRecorder {
  /** Writes `event` now, or counts it into its group (see the module header). */
  record(event: AuditInput): Promise<void>;
  /** Writes the summary rows of every minute that has ended (all of them with `all`). */
  flush(all?: boolean): Promise<void>;
  /** Flushes everything and stops the timer. */
  close(): Promise<void>;
}

/** True for events aggregated by the rule above. */
export function isAggregated(event: Pick<AuditInput, 'actor' | 'outcome'>): boolean {
  return event.actor === 'anonymous' || event.outcome === 'denied';
}

/**
 * Creates a recorder over `store`. @throws RangeError when `maxGroupsPerMinute` is not a
 * positive integer.
 */
export function createAuditRecorder(
  store: Pick<Store, 'appendAudit'>,
  clock: Clock,
  options: { readonly maxGroupsPerMinute?: number; readonly logger?: FastifyBaseLogger } = {},
): AuditRecorder {
  const maxGroups = options.maxGroupsPerMinute ?? DEFAULT_MAX_AUDIT_GROUPS_PER_MINUTE;
  if (!Number.isInteger(maxGroups) || maxGroups < 1)
    throw new RangeError(`maxGroupsPerMinute must be a positive integer, got ${maxGroups}`);
  const groups = new Map<string, Group>();
  const opened = new Map<number, number>(); // minute -> groups opened in it
  let timer: NodeJS.Timeout | undefined;

  const arm = () => {
    if (timer || groups.size === 0) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        recorder.flush().catch((err: unknown) => options.logger?.error({ err }, 'could not write audit summaries'));
      },
      MINUTE_MS - (Date.now() % MINUTE_MS) + 50,
    );
    timer.unref();
  };

  const recorder: AuditRecorder = {
    async record(event) {
      if (!isAggregated(event)) {
        await store.appendAudit(event);
        return;
      }
      const now = event.at ?? clock();
      const minute = now - (now % MINUTE_MS);
      await recorder.flush();
      const key = [event.actor, addressGroup(event.source ?? '-'), event.action, event.outcome, minute].join('|');
      const known = groups.get(key);
      if (known) return count(known, event);
      const count0 = opened.get(minute) ?? 0;
      if (count0 >= maxGroups) {
        const overflowKey = `${OVERFLOW}|${minute}`;
        const overflow = groups.get(overflowKey);
        if (overflow) return count(overflow, event);
        groups.set(overflowKey, { first: event, minute, suppressed: 1, lastTarget: event.target, lastReason: event.reason });
        return arm();
      }
      opened.set(minute, count0 + 1);
      groups.set(key, { first: event, minute, suppressed: 0, lastTarget: event.target, lastReason: event.reason });
      arm();
      await store.appendAudit(event);
    },

    async flush(all = false) {
      const now = clock();
      const current = now - (now % MINUTE_MS);
      for (const [key, group] of groups) {
        if (!all && group.minute >= current) continue;
        groups.delete(key);
        if (group.suppressed > 0) await store.appendAudit(summary(key, group));
      }
      for (const minute of opened.keys()) if (all || minute < current) opened.delete(minute);
      arm();
    },

    async close() {
      clearTimeout(timer);
      timer = undefined;
      await recorder.flush(true);
      clearTimeout(timer);
      timer = undefined;
    },
  };
  return recorder;
}

function count(group: Group, event: AuditInput): void {
  group.suppressed += 1;
  group.lastTarget = event.target;
  group.lastReason = event.reason;
}

function summary(key: string, group: Group): AuditInput {
  const from = new Date(group.minute).toISOString();
  const overflow = key.startsWith(`${OVERFLOW}|`);
  const aggregate = {
    count: group.suppressed,
    from,
    to: new Date(group.minute + MINUTE_MS).toISOString(),
    lastTarget: group.lastTarget,
    ...(overflow ? { overflow: true } : {}),
  };
  if (overflow) {
    return {
      actor: 'anonymous',
      source: '*',
      action: 'audit.overflow',
      target: '*',
      service: null,
      outcome: 'denied',
      reason: `${group.suppressed} anonymous or denied request(s) from many clients in the minute from ${from}, past the per-minute limit of audit groups; counted, not listed`,
      detail: { aggregate },
    };
  }
  const source = addressGroup(group.first.source ?? '-');
  return {
    ...group.first,
    source,
    target: group.first.target === group.lastTarget ? group.first.target : '*',
    reason: `${group.suppressed} more like this from ${source} in the minute from ${from} (last: ${group.lastReason ?? 'no reason'})`,
    detail: { ...(group.first.detail ?? {}), aggregate },
  };
}

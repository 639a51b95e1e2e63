/**
 * Per-version request and error totals of a release, kept up to date incrementally: the metrics
 * route answers every window, so after the first read only recent windows are asked for (with
 * an overlap, since gateways may push a window late) and merged by (version, window start).
 */
import type { ReleaseMetricsView } from '../views.js';

export interface VersionTraffic {
  readonly version: string;
  /** `canary`, `stable` or `other`. */
  readonly role: string;
  readonly requests: number;
  readonly errors: number;
}

/** How far back each refresh re-reads, for windows pushed late (a gateway's retry queue). */
export const LATE_WINDOW_MS = 60_000;

export interface TrafficTally {
  /** Reads new windows through `read` (given the `since` to ask for) and merges them. */
  refresh(read: (since: number | undefined) => Promise<ReleaseMetricsView>): Promise<void>;
  /** Totals per version, canary first, then stable, then others. */
  totals(): VersionTraffic[];
}

/** Creates an empty tally. */
export function createTrafficTally(): TrafficTally {
  const windows = new Map<string, { requests: number; errors: number }>();
  const roles = new Map<string, string>();
  let newest: number | undefined;
  return {
    async refresh(read) {
      const answer = await read(newest === undefined ? undefined : Math.max(0, newest - LATE_WINDOW_MS));
      for (const v of answer.versions) {
        roles.set(v.version, v.role);
        for (const w of v.windows) {
          const start = Date.parse(w.windowStart);
          windows.set(`${v.version}\n${start}`, { requests: w.requests, errors: w.errors });
          if (Number.isFinite(start) && (newest === undefined || start > newest)) newest = start;
        }
      }
    },
    totals() {
      const sums = new Map<string, { requests: number; errors: number }>([...roles.keys()].map((v) => [v, { requests: 0, errors: 0 }]));
      for (const [key, w] of windows) {
        const sum = sums.get(key.slice(0, key.indexOf('\n')));
        if (!sum) continue;
        sum.requests += w.requests;
        sum.errors += w.errors;
      }
      const rank = (role: string | undefined): number => (role === 'canary' ? 0 : role === 'stable' ? 1 : 2);
      return [...sums]
        .map(([version, s]) => ({ version, role: roles.get(version) ?? 'other', ...s }))
        .sort((a, b) => rank(a.role) - rank(b.role));
    },
  };
}

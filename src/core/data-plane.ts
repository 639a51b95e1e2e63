/**
 * Data planes as the control plane knows them: each gateway or proxy agent reports its kind,
 * what it can execute and the routing version it has applied, every few seconds; a step's hold
 * starts only once every live data plane carrying the service has applied the routing version
 * written with the step's weight. The report's types are shared by the gateway (which reports
 * as the `builtin` data plane), the router providers (which re-export them from
 * src/providers/routers/router.ts), the API (which validates the reports) and the store.
 * Pure: the rules take the reports and `now`.
 */
import type { Release } from './types.js';

/** A data plane is live while its last report is younger than this. */
export const DATA_PLANE_LIVE_MS = 20_000;
/** How long a step waits for its weight to be applied before the release pauses (`tern server --apply-timeout`). */
export const DEFAULT_APPLY_TIMEOUT_MS = 30_000;

export const DATA_PLANE_KINDS = ['builtin', 'haproxy', 'nginx'] as const;
export type DataPlaneKind = (typeof DATA_PLANE_KINDS)[number];

/** What a data plane can execute; a service needing more is refused when it is configured. */
export interface RouterFeatures {
  /** Rules with `regex` (the built-in gateway; not HAProxy or NGINX without a slow per-request script). */
  readonly regexRules: boolean;
  /** Rules with `header` + `equals` / `cookie` + `equals`. */
  readonly equalsRules: boolean;
  /** WebSocket upgrades. */
  readonly websocket: boolean;
  /** Sticky bucket hashes it computes (`xxh32` everywhere; `murmur3` only where older releases may still run). */
  readonly bucketHashes: readonly string[];
}

/**
 * The body of `POST /api/v1/dataplane/status`: sent after every applied table and every 5 s
 * (heartbeat); a data plane is live while its last report is under 20 s old.
 */
export interface DataPlaneStatusReport {
  /** 1..200 characters; also the `gateway` of its metric pushes. */
  readonly dataPlane: string;
  readonly kind: DataPlaneKind;
  /** The routing version executed now; 0 before any table. */
  readonly appliedVersion: number;
  readonly features: RouterFeatures;
  /** The services it carries; null when it carries every service. */
  readonly services: readonly string[] | null;
  /** Sent once on a clean stop: the data plane is no longer live. */
  readonly leaving?: true;
}

/** One status report as the control plane takes it in (DataPlaneStatusReport, its name as `name`). */
export interface DataPlaneReport {
  readonly name: string;
  readonly kind: DataPlaneKind;
  readonly appliedVersion: number;
  readonly features: RouterFeatures;
  /** The services it carries; null = every service. */
  readonly services: readonly string[] | null;
  /** A clean stop: the data plane no longer carries traffic. */
  readonly leaving?: boolean;
}

/** A data plane as stored: its latest report and when it was first and last heard from. */
export interface DataPlane extends Omit<DataPlaneReport, 'leaving'> {
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** When it said it was leaving; null while it runs (a later report clears it). */
  readonly leftAt: number | null;
}

export type DataPlaneState = 'live' | 'stale' | 'left';

/** `left` after a clean stop, `live` while its last report is under DATA_PLANE_LIVE_MS old, else `stale`. */
export function dataPlaneState(dp: DataPlane, now: number): DataPlaneState {
  if (dp.leftAt !== null) return 'left';
  return now - dp.lastSeen < DATA_PLANE_LIVE_MS ? 'live' : 'stale';
}

/** True when the data plane carries `service`'s traffic. */
export function carries(dp: Pick<DataPlane, 'services'>, service: string): boolean {
  return dp.services === null || dp.services.includes(service);
}

/** The live data planes carrying `service`, by name. */
export function liveCarriers(dataPlanes: readonly DataPlane[], service: string, now: number): DataPlane[] {
  return dataPlanes.filter((dp) => dataPlaneState(dp, now) === 'live' && carries(dp, service)).sort((a, b) => a.name.localeCompare(b.name));
}

/** Where a release's current step stands with its data planes. */
export type ApplyState =
  /** Every live data plane carrying the service runs the step's routing version (or none is live). */
  | { readonly kind: 'applied'; readonly by: readonly string[]; readonly reason: string }
  /** Some have not applied it yet, within the deadline. */
  | { readonly kind: 'waiting'; readonly pending: readonly string[]; readonly reason: string }
  /** Some have not applied it within the deadline: the release pauses. */
  | { readonly kind: 'overdue'; readonly pending: readonly string[]; readonly reason: string };

/** "weight 5% (routing version 12)" */
export function weightAtVersion(release: Pick<Release, 'weight' | 'routingVersion'>): string {
  return `weight ${release.weight / 100}% (routing version ${release.routingVersion ?? 0})`;
}

/**
 * Whether the release's current weight is applied: every live data plane carrying its service
 * reports `appliedVersion >= release.routingVersion`. The wait runs from `waitFrom` (the step's
 * store write, or a resume) for `timeoutMs`.
 */
export function applyState(
  release: Release,
  dataPlanes: readonly DataPlane[],
  now: number,
  waitFrom: number,
  timeoutMs: number,
): ApplyState {
  const version = release.routingVersion ?? 0;
  const carriers = liveCarriers(dataPlanes, release.service, now);
  const pending = carriers.filter((dp) => dp.appliedVersion < version).map((dp) => dp.name);
  const what = weightAtVersion(release);
  if (pending.length === 0) {
    const by = carriers.map((dp) => dp.name);
    const reason =
      by.length === 0
        ? `${what}: no live data plane; the hold starts now`
        : `${what} applied by data plane(s) ${by.join(', ')}; the hold starts now`;
    return { kind: 'applied', by, reason };
  }
  const names = pending.join(', ');
  if (now - waitFrom >= timeoutMs) {
    return {
      kind: 'overdue',
      pending,
      reason: `data plane(s) ${names} did not apply ${what} within ${Math.round(timeoutMs / 1000)} s; resume once they have, or roll back`,
    };
  }
  return { kind: 'waiting', pending, reason: `waiting for data plane(s) ${names} to apply ${what}` };
}

/** When a step's hold (and its evidence) starts: the applied time, else the store write. */
export function holdStart(release: Pick<Release, 'stepStartedAt' | 'stepAppliedAt'>): number {
  return release.stepAppliedAt ?? release.stepStartedAt;
}

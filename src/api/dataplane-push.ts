/**
 * What a metrics push may claim (fabricated pushes could roll a healthy release back within
 * a second). A gateway token pushes only as a data plane that holds the
 * routing it reports on:
 * - counts must add up: errors + gatewayErrors ≤ requests, latency buckets ≤ requests (a data
 *   plane that samples latency sends only the samples, which may be far fewer, and says so
 *   with `latencySampleRate`), each heavy error user ≤ errors, and so their sum; windows are
 *   one second long (400);
 * - every window names a release active in the current routing table and a version that is
 *   that release's canary or the service's stable; every canary-unavailable event names a
 *   service and its active release; no window or event starts more than 5 s ahead of the
 *   server's clock (422, nothing of the push stored);
 * - windows of a release that has ended are kept when they started before it ended and name its
 *   canary or stable version: a gateway flushing its queue after a store outage delivers the
 *   evidence of the time the release ran, which then belongs in its record (it can no longer
 *   sway a verdict); later windows, events of ended releases, and anything older than 10 minutes
 *   are left out and counted as ignored, so a flushed queue never loses the rest of its batch.
 *
 * Within these limits a gateway token can still skew the evidence of an active release (as
 * any data plane can); docs/security.md says so.
 */
import { ValidationError } from '../core/errors.js';
import { isFinal } from '../core/release-state.js';
import type { MetricWindow, Release, RouteEntry, RoutingTable } from '../core/types.js';

/** Gateways report one-second windows (src/gateway/metrics.ts). */
export const PUSH_WINDOW_MS = 1_000;
/** Windows and events older than this (by their start, against the server's clock) are ignored. */
export const PUSH_MAX_AGE_MS = 10 * 60_000;
/** Windows and events starting further ahead of the server's clock are refused. */
export const PUSH_MAX_AHEAD_MS = 5_000;

interface WindowInput extends Omit<MetricWindow, 'feedbackSum' | 'feedbackCount'> {
  readonly feedbackSum?: number | undefined;
  readonly feedbackCount?: number | undefined;
}

interface EventInput {
  readonly service: string;
  readonly releaseId: string;
  readonly windowStart: number;
}

/** Reads what the routing checks need from the store. */
export interface PushContext {
  readonly now: number;
  readonly table: RoutingTable;
  readonly release: (id: string) => Promise<Release | undefined>;
}

/** The windows to store and the events to record, and how many of either were ignored. */
export interface CheckedPush<E> {
  readonly windows: MetricWindow[];
  readonly events: E[];
  readonly ignored: number;
}

const sum = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** @throws ValidationError (400) when a window's counts cannot be true. */
export function checkCounts(w: WindowInput, i: number): void {
  const at = `body.windows[${i}]`;
  if (w.windowMs !== PUSH_WINDOW_MS)
    throw new ValidationError(`${at}.windowMs`, `${w.windowMs}; gateways report windows of ${PUSH_WINDOW_MS} ms`);
  if (w.errors > w.requests)
    throw new ValidationError(`${at}.errors`, `${w.errors} errors in ${w.requests} requests; errors cannot exceed requests`);
  const gatewayErrors = w.gatewayErrors ?? 0;
  if (w.errors + gatewayErrors > w.requests) {
    throw new ValidationError(
      `${at}.gatewayErrors`,
      `${w.errors} errors and ${gatewayErrors} gateway errors in ${w.requests} requests; together they cannot exceed requests`,
    );
  }
  // Sampled latency (latencySampleRate < 1) holds fewer samples than requests, never more.
  const timed = sum(w.latency);
  if (timed > w.requests)
    throw new ValidationError(
      `${at}.latency`,
      `${timed} latency samples in ${w.requests} requests; the buckets cannot hold more than requests (sampled or not)`,
    );
  const users = w.errorUsers ?? {};
  for (const [user, n] of Object.entries(users)) {
    if (n > w.errors) throw new ValidationError(`${at}.errorUsers.${user}`, `${n} errors of one user in a window of ${w.errors} errors`);
  }
  if (sum(users) > w.errors)
    throw new ValidationError(`${at}.errorUsers`, `${sum(users)} errors of users in a window of ${w.errors} errors`);
}

/** @throws ValidationError (422) when `start` is too far ahead of the server's clock. */
function checkNotAhead(start: number, now: number, field: string): void {
  if (start > now + PUSH_MAX_AHEAD_MS) {
    throw new ValidationError(
      field,
      `starts ${start - now} ms after the server's clock; at most ${PUSH_MAX_AHEAD_MS} ms ahead is accepted (check the gateway's clock)`,
      'TERN_EVIDENCE_REJECTED',
    );
  }
}

/** Routes by the release active on them. */
function activeRoutes(table: RoutingTable): Map<string, RouteEntry> {
  const byRelease = new Map<string, RouteEntry>();
  for (const r of table.routes) if (r.canary !== null) byRelease.set(r.canary.releaseId, r);
  return byRelease;
}

/** Ended releases by id, each looked up once per push (a queue flushed after a release ended holds many of its windows). */
function endedReleases(ctx: PushContext): (id: string, service?: string) => Promise<Release | undefined> {
  const seen = new Map<string, Promise<Release | undefined>>();
  /** The release when `id` is a release of `service` (any, when undefined) that has ended; otherwise a push naming it is refused. */
  return async (id, service) => {
    let lookup = seen.get(id);
    if (lookup === undefined) seen.set(id, (lookup = ctx.release(id)));
    const release = await lookup;
    return release !== undefined && isFinal(release.status) && (service === undefined || release.service === service) ? release : undefined;
  };
}

/** A window of an ended release that belongs in its record: from before its end, of its canary or stable. */
function ranBeforeEnd(release: Release, w: WindowInput): boolean {
  const versions = [release.version, release.baseline.version];
  return release.endedAt !== null && w.windowStart < release.endedAt && versions.includes(w.version);
}

function withFeedback(w: WindowInput): MetricWindow {
  return { ...w, feedbackSum: w.feedbackSum ?? 0, feedbackCount: w.feedbackCount ?? 0 };
}

function notActive(field: string, id: string): ValidationError {
  return new ValidationError(field, `release ${id} is not active in the current routing table`, 'TERN_EVIDENCE_REJECTED');
}

/**
 * Checks a push against the routing table and the clock; returns what to store.
 * @throws ValidationError (400) for counts that cannot be true, (422) for a push this data plane cannot make.
 */
export async function checkPush<E extends EventInput>(
  ctx: PushContext,
  windows: readonly WindowInput[],
  events: readonly E[],
): Promise<CheckedPush<E>> {
  windows.forEach(checkCounts);
  const routes = activeRoutes(ctx.table);
  const hasEnded = endedReleases(ctx);
  const oldest = ctx.now - PUSH_MAX_AGE_MS;
  const kept: MetricWindow[] = [];
  let ignored = 0;
  for (const [i, w] of windows.entries()) {
    const at = `body.windows[${i}]`;
    checkNotAhead(w.windowStart, ctx.now, `${at}.windowStart`);
    const route = routes.get(w.releaseId);
    if (route === undefined) {
      const ended = await hasEnded(w.releaseId);
      if (ended === undefined) throw notActive(`${at}.releaseId`, w.releaseId);
      if (w.windowStart >= oldest && ranBeforeEnd(ended, w)) kept.push(withFeedback(w));
      else ignored++;
      continue;
    }
    if (w.version !== route.canary?.version && w.version !== route.stable.version) {
      throw new ValidationError(
        `${at}.version`,
        `${w.version} is neither the canary (${route.canary?.version}) nor the stable (${route.stable.version}) of release ${w.releaseId}`,
        'TERN_EVIDENCE_REJECTED',
      );
    }
    if (w.windowStart < oldest) ignored++;
    else kept.push(withFeedback(w));
  }
  const keptEvents: E[] = [];
  for (const [i, e] of events.entries()) {
    const at = `body.events[${i}]`;
    checkNotAhead(e.windowStart, ctx.now, `${at}.windowStart`);
    const route = routes.get(e.releaseId);
    if (route === undefined || route.service !== e.service) {
      if ((await hasEnded(e.releaseId, e.service)) === undefined) throw notActive(`${at}.releaseId`, e.releaseId);
      ignored++;
    } else if (e.windowStart < oldest) ignored++;
    else keptEvents.push(e);
  }
  return { windows: kept, events: keptEvents, ignored };
}

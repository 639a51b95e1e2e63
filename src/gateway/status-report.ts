/**
 * Data-plane status reports (docs/data-planes.md): the client side of
 * `POST /api/v1/dataplane/status`. A data plane says which routing version it executes after
 * every table it applied and every 5 s (the heartbeat: it is live while its last report is
 * under 20 s old), and says it is leaving on a clean stop, so the control plane starts a step's
 * hold only once every live data plane routes users by the step's weight.
 *
 * Reports never get in the way of routing: a failed report is retried on the next heartbeat,
 * and a control plane from before status reports (404) is noted once and asked again on every
 * heartbeat, so an upgrade of the control plane is picked up without a restart.
 */
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import type { DataPlaneKind, DataPlaneStatusReport, RouterFeatures } from '../core/data-plane.js';

/** What Tern's own gateway executes: every rule, WebSockets, both sticky bucket hashes. */
export const BUILTIN_FEATURES: RouterFeatures = Object.freeze({
  regexRules: true,
  equalsRules: true,
  websocket: true,
  bucketHashes: Object.freeze(['xxh32', 'murmur3']),
});

export interface StatusReportOptions {
  /** The data plane's name (a function when it is known only once the port is bound). */
  readonly dataPlane: string | (() => string);
  readonly kind: DataPlaneKind;
  readonly features: RouterFeatures;
  /** The services carried; null (default) when every service is. */
  readonly services?: readonly string[] | null;
  /** Heartbeat, ms (default 5000). */
  readonly intervalMs?: number;
}

export interface StatusReporter {
  /** Reports now (after an applied table); coalesces with a report in flight. */
  kick(): void;
  /** Stops the heartbeat and sends `leaving: true`, waiting at most `LEAVE_TIMEOUT_MS`. */
  leave(): Promise<void>;
}

export interface StatusReportDeps {
  readonly options: StatusReportOptions;
  readonly appliedVersion: () => number;
  /** The control-plane URL followed now. */
  readonly base: () => string;
  readonly dispatcher: Dispatcher;
  readonly headers: Record<string, string>;
  readonly logger: Logger;
  /** Aborted when the sync loop stops. */
  readonly signal: AbortSignal;
}

export const DEFAULT_STATUS_INTERVAL_MS = 5_000;
const LEAVE_TIMEOUT_MS = 1_500;

/** Starts the heartbeat; the first report goes out on the first `kick()` or heartbeat. */
export function startStatusReports(deps: StatusReportDeps): StatusReporter {
  const { options, logger } = deps;
  let inFlight: Promise<void> | null = null;
  let again = false;
  /** Outcome of the last report, so each change is logged once rather than every 5 s. */
  let state: 'unknown' | 'ok' | 'not-supported' | 'failing' = 'unknown';

  const body = (leaving: boolean): DataPlaneStatusReport => ({
    dataPlane: typeof options.dataPlane === 'string' ? options.dataPlane : options.dataPlane(),
    kind: options.kind,
    appliedVersion: deps.appliedVersion(),
    features: options.features,
    services: options.services ?? null,
    ...(leaving ? { leaving: true as const } : {}),
  });

  const post = async (report: DataPlaneStatusReport, signal: AbortSignal): Promise<number> => {
    const res = await request(`${deps.base()}/api/v1/dataplane/status`, {
      dispatcher: deps.dispatcher,
      method: 'POST',
      headers: { ...deps.headers, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      signal,
    });
    await res.body.dump();
    return res.statusCode;
  };

  const note = (status: number | null, err?: unknown): void => {
    const next = status !== null && status >= 200 && status < 300 ? 'ok' : status === 404 ? 'not-supported' : 'failing';
    if (next === state) return;
    state = next;
    if (next === 'ok') logger.info({ controlPlane: deps.base() }, 'data-plane status reports accepted');
    else if (next === 'not-supported')
      logger.info(
        { controlPlane: deps.base() },
        'control plane does not know data-plane status reports (404); asking again every heartbeat',
      );
    else logger.warn({ err, status, controlPlane: deps.base() }, 'data-plane status report failed; retrying on the heartbeat');
  };

  const sendOnce = async (): Promise<void> => {
    const report = body(false);
    if (report.dataPlane === '') return; // named once its port is bound; the heartbeat follows
    try {
      note(await post(report, deps.signal));
    } catch (err) {
      if (!deps.signal.aborted) note(null, err);
    }
  };

  const kick = (): void => {
    if (deps.signal.aborted) return;
    if (inFlight !== null) return void (again = true);
    inFlight = sendOnce().finally(() => {
      inFlight = null;
      if (again) {
        again = false;
        kick();
      }
    });
  };

  const timer = setInterval(kick, options.intervalMs ?? DEFAULT_STATUS_INTERVAL_MS);
  timer.unref();
  return {
    kick,
    async leave() {
      clearInterval(timer);
      again = false;
      await inFlight;
      if (state === 'not-supported') return;
      try {
        await post(body(true), AbortSignal.timeout(LEAVE_TIMEOUT_MS));
      } catch (err) {
        logger.debug({ err }, 'could not tell the control plane this data plane is leaving');
      }
    },
  };
}

/**
 * The control-plane client (docs/data-planes.md): watches the routing table and pushes metric windows.
 *
 * Watch: long-poll `GET {url}/api/v1/dataplane/routing?after=N&wait=30s` with the gateway's
 * bearer token. 200 carries a RoutingTable; 304 means "no change within the wait". The first
 * poll asks without `after`, which the control plane answers at once with its current table, so
 * a gateway always adopts it on (re)connect — even one with a lower version than its state file
 * (a restored control plane is the truth) — and a fresh one starts without waiting.
 *
 * Push: once a second, the closed windows are queued and POSTed to
 * `{url}/api/v1/dataplane/metrics` as `{ gateway, windows }`; unsent windows stay queued
 * (bounded, oldest dropped first and counted) and are retried. A batch the control plane
 * rejects as invalid (4xx other than auth/rate limits) is dropped: re-sending cannot help.
 *
 * Failures never stop routing (fail static): both loops retry with capped exponential backoff
 * and jitter, so a fleet of gateways does not hammer a control plane that comes back.
 *
 * Several control-plane URLs (servers sharing one PostgreSQL): the gateway follows one at a
 * time; a failed watch moves it to the next in the list (round robin), and pushes follow.
 *
 * Status (with `status`): after every applied table and every 5 s, the data plane reports the
 * routing version it executes (`POST {url}/api/v1/dataplane/status`, status-report.ts), and
 * `leaving: true` on stop().
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { MetricWindow, RoutingTable } from '../core/types.js';
import { connectOptions, type ServerTrust } from '../net/tls.js';
import type { FallbackEvent } from './metrics.js';
import { startStatusReports, type StatusReportOptions, type StatusReporter } from './status-report.js';
import { parseRoutingTable } from './table-json.js';

export interface SyncOptions {
  /** The control plane's API URL, or several (servers sharing one database), tried in turn. */
  readonly url: string | readonly string[];
  readonly token: string;
  /** This gateway's name in metric pushes (a function when it is known only once the port is bound). */
  readonly gatewayId: string | (() => string);
  readonly logger: Logger;
  /** Version of the table in use (0 when none). */
  readonly currentVersion: () => number;
  /**
   * Applies a table (an external data plane may take a moment); throws or rejects when it cannot.
   * Sync decides which tables are applied — its first answer whatever the version (a restored
   * control plane is the truth), later only a newer one — so `apply` never compares versions.
   */
  readonly apply: (table: RoutingTable) => void | Promise<void>;
  readonly drainWindows: () => MetricWindow[];
  readonly drainEvents: () => FallbackEvent[];
  /** Long-poll wait the control plane is asked for, seconds (default 30). */
  readonly waitSeconds?: number;
  readonly pushIntervalMs?: number;
  /** Most windows kept while the control plane is unreachable (default 20,000). */
  readonly maxQueuedWindows?: number;
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  /** How an `https://` control plane is trusted (default: the system's CA roots). */
  readonly trust?: ServerTrust;
  /** Report the applied routing version as this data plane (status-report.ts); default no reports. */
  readonly status?: StatusReportOptions;
}

export interface SyncHandle {
  /** Settles after the first poll attempt, true when it got a table (or 304). */
  readonly firstPoll: Promise<boolean>;
  /** The control-plane URL followed now. */
  current(): string;
  /** Windows dropped because the queue was full. */
  dropped(): number;
  /** Sends a status report now (with `status`), e.g. once the data plane's name is known. */
  reportStatus(): void;
  stop(): Promise<void>;
}

const MAX_BATCH = 1_000;
/** Canary-unavailable reports kept (and sent in one push) at most. */
const MAX_EVENTS = 1_000;

/** Capped exponential backoff with "equal jitter": half fixed, half random. */
export function backoffDelay(failures: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Starts both loops. */
export function startSync(opts: SyncOptions): SyncHandle {
  const bases = (typeof opts.url === 'string' ? [opts.url] : opts.url).map((u) => u.replace(/\/+$/, ''));
  if (bases.length === 0) throw new Error('startSync: at least one control-plane URL is needed');
  let active = 0;
  const base = (): string => bases[active]!;
  const failOver = (): void => {
    if (bases.length < 2) return;
    const from = base();
    active = (active + 1) % bases.length;
    opts.logger.warn({ from, to: base() }, 'following the next control plane');
  };
  const wait = opts.waitSeconds ?? 30;
  const backoff = opts.backoff ?? { baseMs: 250, capMs: 10_000 };
  const stopper = new AbortController();
  const agent = new Agent({ connect: connectOptions(opts.trust, 5_000), keepAliveTimeout: 60_000, headersTimeout: (wait + 15) * 1000 });
  const headers = { authorization: `Bearer ${opts.token}` };
  let firstSettled: (ok: boolean) => void = () => undefined;
  const firstPoll = new Promise<boolean>((resolve) => (firstSettled = resolve));

  const reporter: StatusReporter | null =
    opts.status === undefined
      ? null
      : startStatusReports({
          options: opts.status,
          appliedVersion: opts.currentVersion,
          base,
          dispatcher: agent,
          headers,
          logger: opts.logger,
          signal: stopper.signal,
        });

  const pollOnce = async (first: boolean): Promise<void> => {
    const query = first ? '' : `?after=${opts.currentVersion()}&wait=${wait}s`;
    const res = await request(`${base()}/api/v1/dataplane/routing${query}`, {
      dispatcher: agent,
      headers,
      signal: stopper.signal,
    });
    if (res.statusCode === 304) return void (await res.body.dump());
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`control plane answered ${res.statusCode} to the routing watch`);
    }
    const table = parseRoutingTable(await res.body.json());
    if (first || table.version > opts.currentVersion()) {
      await opts.apply(table);
      return reporter?.kick();
    }
    // A 200 that is not newer breaks the watch contract; pause so it cannot become a busy loop.
    await sleep(backoff.baseMs, undefined, { signal: stopper.signal }).catch(() => undefined);
  };

  const pollLoop = async (): Promise<void> => {
    let failures = 0;
    let first = true;
    while (!stopper.signal.aborted) {
      try {
        await pollOnce(first);
        if (first) firstSettled(true);
        first = false;
        failures = 0;
      } catch (err) {
        if (stopper.signal.aborted) break;
        if (first) firstSettled(false);
        failures++;
        opts.logger.warn({ err, failures, controlPlane: base() }, 'routing watch failed; keeping the last table');
        failOver();
        await sleep(backoffDelay(failures, backoff.baseMs, backoff.capMs), undefined, { signal: stopper.signal }).catch(() => undefined);
      }
    }
  };

  const pusher = startPusher(opts, base, agent, headers, backoff, stopper.signal);
  const loop = pollLoop();
  return {
    firstPoll,
    current: base,
    dropped: pusher.dropped,
    reportStatus: () => reporter?.kick(),
    async stop() {
      stopper.abort();
      firstSettled(false);
      await Promise.allSettled([loop, pusher.idle()]);
      await reporter?.leave();
      await agent.destroy().catch(() => undefined);
    },
  };
}

/** Statuses after which re-sending the same batch cannot succeed: drop it rather than block the queue. */
function isPoison(status: number): boolean {
  return status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 408 && status !== 429;
}

function startPusher(
  opts: SyncOptions,
  base: () => string,
  agent: Agent,
  headers: Record<string, string>,
  backoff: { baseMs: number; capMs: number },
  signal: AbortSignal,
): { dropped: () => number; idle: () => Promise<void> } {
  const max = opts.maxQueuedWindows ?? 20_000;
  const queue: MetricWindow[] = [];
  const events: FallbackEvent[] = [];
  let dropped = 0;
  let failures = 0;
  let notBefore = 0;
  let inFlight: Promise<void> | null = null;

  const send = async (): Promise<void> => {
    const batch = queue.slice(0, MAX_BATCH);
    const reports = events.slice(0, MAX_EVENTS);
    try {
      const res = await request(`${base()}/api/v1/dataplane/metrics`, {
        dispatcher: agent,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({
          gateway: typeof opts.gatewayId === 'string' ? opts.gatewayId : opts.gatewayId(),
          windows: batch,
          ...(reports.length ? { events: reports } : {}),
        }),
        signal,
      });
      const text = await res.body.text();
      if (isPoison(res.statusCode)) {
        queue.splice(0, batch.length);
        events.splice(0, reports.length);
        dropped += batch.length;
        opts.logger.error(
          { status: res.statusCode, body: text.slice(0, 500), windows: batch.length },
          'control plane rejected a metrics batch; dropped it',
        );
        return;
      }
      if (res.statusCode >= 300) throw new Error(`control plane answered ${res.statusCode} to a metrics push`);
      queue.splice(0, batch.length);
      events.splice(0, reports.length);
      failures = 0;
    } catch (err) {
      if (signal.aborted) return;
      failures++;
      notBefore = Date.now() + backoffDelay(failures, backoff.baseMs, backoff.capMs);
      opts.logger.warn({ err, queued: queue.length }, 'metrics push failed; will retry');
    }
  };

  const tick = (): void => {
    queue.push(...opts.drainWindows());
    events.push(...reportFallbacks(opts));
    if (queue.length > max) dropped += queue.splice(0, queue.length - max).length;
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
    if (inFlight !== null || Date.now() < notBefore || (queue.length === 0 && events.length === 0)) return;
    inFlight = send().finally(() => (inFlight = null));
  };
  const timer = setInterval(tick, opts.pushIntervalMs ?? 1_000);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  return { dropped: () => dropped, idle: () => inFlight ?? Promise.resolve() };
}

/**
 * Canary-unavailable events: logged here, counted on /metrics
 * (tern_gateway_canary_fallback_total), and sent with the next metrics push, where the control
 * plane records them in the audit log of the release.
 */
function reportFallbacks(opts: SyncOptions): FallbackEvent[] {
  const drained = opts.drainEvents();
  for (const e of drained) {
    opts.logger.warn(
      { service: e.service, releaseId: e.releaseId, windowStart: e.windowStart, count: e.count },
      'canary unavailable: its users were served by stable',
    );
  }
  return drained;
}

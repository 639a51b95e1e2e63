/**
 * Alertmanager out: Tern's alerts posted to Alertmanager's v2 API
 * (`POST /api/v2/alerts`). Driven by the store, not by events, so a restarted or newly elected
 * controller picks up where the last left off:
 * - `TernCheckFailing` — one per open store alert (a check judging.ts found failing) of an
 *   active release; resolved (endsAt = now) when the store resolves it or the release ends;
 * - `TernReleaseRolledBack` — one per release that rolled back, with a bounded life (`endsAt`
 *   set ahead, default 10 min) so it clears by itself.
 * - `TernDataPlaneStale` — a data plane that stopped reporting while it carried routing, or
 *   lags the newest routing version for longer than the apply timeout (health-alerts.ts);
 * - `TernNoControllerLeader` — the controller lease without a live holder for longer than its
 *   TTL plus a margin. Posted by every server, leader or not (a leaderless cluster has no leader
 *   to post it); Alertmanager dedupes the identical label sets.
 * Active alerts are re-posted every `refreshMs` (default 30 s, below Alertmanager's default
 * `resolve_timeout` of 5 min), new and ended ones at the next poll (default 1 s). All but the
 * no-leader alert are posted by the leading controller only. A failed post is logged and retried
 * at the next poll; posts run on their own timers and never block the controller.
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import { DEFAULT_APPLY_TIMEOUT_MS } from '../../core/data-plane.js';
import { ValidationError } from '../../core/errors.js';
import type { Release } from '../../core/types.js';
import type { Store } from '../../store/store.js';
import type { PostableAlert } from './postable-alert.js';
import { dataPlaneAlerts, noLeaderAlert, type LagSince, type LeaderWatch } from './health-alerts.js';

export type { PostableAlert } from './postable-alert.js';

export interface AlertmanagerOptions {
  /** Alertmanager's base URL, e.g. `http://alertmanager:9093` (`--alertmanager-url`). */
  readonly url: string;
  readonly store: Store;
  /** Where people look: the dashboard's base URL (links in annotations and generatorURL). */
  readonly externalUrl: string;
  /** Whether this process should post (holds the controller lease). */
  readonly isLeader: () => Promise<boolean>;
  /** The controller lease read for the no-leader alert. Default `release-controller`. */
  readonly leaseName?: string;
  /** The controller lease's TTL (ms, `--lease-ttl`). Default 3000. */
  readonly leaseTtlMs?: number;
  /** How long past the TTL the lease may stay unheld before TernNoControllerLeader. Default 5000 ms. */
  readonly leaderMarginMs?: number;
  /** How long a live data plane may lag the newest routing version before TernDataPlaneStale (`--apply-timeout`). Default 30 s. */
  readonly applyTimeoutMs?: number;
  readonly logger?: Logger | undefined;
  /** How often the store is read. Default 1000 ms. */
  readonly pollMs?: number;
  /** Active alerts are re-posted at least this often. Default 30 s. */
  readonly refreshMs?: number;
  /** How long a rolled-back release stays alerting. Default 10 min. */
  readonly rollbackAlertMs?: number;
  /** Per-post timeout. Default 5 s. */
  readonly timeoutMs?: number;
  readonly clock?: () => number;
}

export interface AlertmanagerNotifier {
  /** Stops polling and waits for a post in flight. */
  stop(): Promise<void>;
}

interface Sent {
  readonly alert: PostableAlert;
  readonly at: number;
}

/**
 * Validates and normalises an Alertmanager base URL (no trailing slash).
 * @throws ValidationError TERN_VALIDATION for anything but an http(s) URL.
 */
export function parseAlertmanagerUrl(value: string, field = 'alertmanagerUrl'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ValidationError(field, `expected an http(s) URL such as http://127.0.0.1:9093, got "${value}"`, 'TERN_INVALID_REQUEST', {
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ValidationError(field, `expected an http(s) URL such as http://127.0.0.1:9093, got "${value}"`);
  return url.href.replace(/\/+$/, '');
}

/** The alerts that should be firing now, keyed by identity (pure apart from the store reads). */
async function desiredAlerts(store: Store, base: string, now: number, rollbackMs: number): Promise<Map<string, PostableAlert>> {
  const desired = new Map<string, PostableAlert>();
  for (const release of await store.listReleases({ active: true, limit: 1000 })) {
    const open = (await store.listAlerts(release.id)).filter((a) => a.resolvedAt === null);
    if (open.length === 0) continue;
    const verdicts = await store.listVerdicts(release.id, { limit: 20 });
    const latest = verdicts.reduce<(typeof verdicts)[number] | undefined>((a, v) => (a === undefined || v.at > a.at ? v : a), undefined);
    for (const a of open) {
      const detail = detailOf(latest?.checks ?? [], a.metric);
      desired.set(`check\u0000${release.id}\u0000${a.metric}`, {
        labels: { ...labelsOf(release), alertname: 'TernCheckFailing', check: a.metric, severity: 'critical' },
        annotations: {
          summary: `${release.service} ${release.version}: check ${a.metric} is failing`,
          description: detail ?? `observed ${a.observed} against a bound of ${a.threshold}`,
          dashboard: releaseLink(base, release),
        },
        startsAt: new Date(a.triggeredAt).toISOString(),
        generatorURL: releaseLink(base, release),
      });
    }
  }
  for (const release of await store.listReleases({ active: false, limit: 50 })) {
    if (release.status !== 'rolled_back' || release.endedAt === null || now - release.endedAt >= rollbackMs) continue;
    desired.set(`rollback\u0000${release.id}`, {
      labels: { ...labelsOf(release), alertname: 'TernReleaseRolledBack', severity: 'warning' },
      annotations: {
        summary: `${release.service} ${release.version} was rolled back`,
        description: release.reason ?? 'rolled back',
        dashboard: releaseLink(base, release),
      },
      startsAt: new Date(release.endedAt).toISOString(),
      endsAt: new Date(release.endedAt + rollbackMs).toISOString(),
      generatorURL: releaseLink(base, release),
    });
  }
  return desired;
}

/** The verdict sentence of `check` among a stored verdict's checks (stored as JSON), if any. */
function detailOf(checks: readonly unknown[], check: string): string | undefined {
  for (const c of checks) {
    if (typeof c !== 'object' || c === null) continue;
    const { check: name, detail } = c as { check?: unknown; detail?: unknown };
    if (name === check && typeof detail === 'string') return detail;
  }
  return undefined;
}

function labelsOf(release: Release): Record<string, string> {
  return { service: release.service, release: release.id, version: release.version };
}

function releaseLink(base: string, release: Release): string {
  return `${base}/releases/${encodeURIComponent(release.id)}`;
}

/** One set of alerts kept in step with Alertmanager: what was sent, and the alerts wanted now. */
interface Channel {
  readonly sent: Map<string, Sent>;
  /** The alerts that should be firing; null to leave Alertmanager as it is (not the leader). */
  readonly desired: (now: number) => Promise<Map<string, PostableAlert> | null>;
  failing: boolean;
  timer: NodeJS.Timeout | null;
  inFlight: Promise<void>;
}

/** Starts polling the store and posting to Alertmanager; returns the handle. */
export function startAlertmanagerNotifier(options: AlertmanagerOptions): AlertmanagerNotifier {
  const url = `${parseAlertmanagerUrl(options.url)}/api/v2/alerts`;
  const base = options.externalUrl.replace(/\/+$/, '');
  const clock = options.clock ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const refreshMs = options.refreshMs ?? 30_000;
  const rollbackMs = options.rollbackAlertMs ?? 600_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const leaseName = options.leaseName ?? 'release-controller';
  const leaseTtlMs = options.leaseTtlMs ?? 3000;
  const marginMs = options.leaderMarginMs ?? 5000;
  const applyTimeoutMs = options.applyTimeoutMs ?? DEFAULT_APPLY_TIMEOUT_MS;
  const lagSince: LagSince = new Map();
  const watch: LeaderWatch = { noHolderSince: null };
  let stopped = false;

  async function post(alerts: readonly PostableAlert[]): Promise<void> {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`Alertmanager answered ${res.statusCode}: ${text.slice(0, 200)}`);
  }

  async function poll(channel: Channel): Promise<void> {
    const now = clock();
    const desired = await channel.desired(now);
    if (desired === null) return;
    const { sent } = channel;
    const firing: Array<[string, PostableAlert]> = [];
    const ended: Array<[string, PostableAlert]> = [];
    for (const [key, alert] of desired) {
      const last = sent.get(key);
      if (last === undefined || now - last.at >= refreshMs || JSON.stringify(last.alert) !== JSON.stringify(alert))
        firing.push([key, alert]);
    }
    for (const [key, last] of sent) if (!desired.has(key)) ended.push([key, { ...last.alert, endsAt: new Date(now).toISOString() }]);
    if (firing.length === 0 && ended.length === 0) return;
    await post([...firing, ...ended].map(([, a]) => a));
    for (const [key, alert] of firing) sent.set(key, { alert, at: now });
    for (const [key] of ended) sent.delete(key);
    if (channel.failing) options.logger?.info({ url }, 'Alertmanager reachable again');
    channel.failing = false;
  }

  function schedule(channel: Channel): void {
    if (stopped) return;
    channel.timer = setTimeout(() => {
      channel.inFlight = poll(channel)
        .catch((err: unknown) => {
          // Logged once per outage; the same alerts are posted again at the next poll.
          if (!channel.failing) options.logger?.warn({ err, url }, 'could not post alerts to Alertmanager; retrying');
          channel.failing = true;
        })
        .finally(() => schedule(channel));
    }, pollMs);
    channel.timer.unref();
  }

  const makeChannel = (desired: Channel['desired']): Channel => ({
    sent: new Map(),
    desired,
    failing: false,
    timer: null,
    inFlight: Promise.resolve(),
  });
  const channels = [
    // The leader's: release alerts and data-plane health.
    makeChannel(async (now) => {
      if (!(await options.isLeader())) return null;
      const desired = await desiredAlerts(options.store, base, now, rollbackMs);
      const [dataPlanes, table] = await Promise.all([options.store.listDataPlanes(), options.store.routingTable()]);
      for (const [key, alert] of dataPlaneAlerts(dataPlanes, table.version, now, applyTimeoutMs, lagSince, `${base}/api/v1/dataplanes`))
        desired.set(key, alert);
      return desired;
    }),
    // Everyone's: a lease nobody holds (read, never taken, so a stuck lease write cannot hide it).
    makeChannel(async (now) => {
      const alert = noLeaderAlert(await options.store.readLease(leaseName), now, leaseTtlMs, marginMs, watch, base);
      const desired = new Map<string, PostableAlert>();
      if (alert !== undefined) desired.set('no-leader', alert);
      return desired;
    }),
  ];
  for (const c of channels) schedule(c);

  return {
    async stop() {
      stopped = true;
      for (const c of channels) if (c.timer) clearTimeout(c.timer);
      await Promise.all(channels.map((c) => c.inFlight));
    },
  };
}

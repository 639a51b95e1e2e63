/**
 * Alertmanager out: Tern's alerts posted to Alertmanager's v2 API
 * (`POST /api/v2/alerts`). Driven by the store, not by events, so a restarted or newly elected
 * controller picks up where the last left off:
 * - `TernCheckFailing` — one per open store alert (a check judging.ts found failing) of an
 *   active release; resolved (endsAt = now) when the store resolves it or the release ends;
 * - `TernReleaseRolledBack` — one per release that rolled back, with a bounded life (`endsAt`
 *   set ahead, default 10 min) so it clears by itself.
 * Active alerts are re-posted every `refreshMs` (default 30 s, below Alertmanager's default
 * `resolve_timeout` of 5 min), new and ended ones at the next poll (default 1 s). Only the
 * leading controller posts. A failed post is logged and retried at the next poll; posts run on
 * their own timer and never block the controller.
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import { ValidationError } from '../../core/errors.js';
import type { Release } from '../../core/types.js';
import type { Store } from '../../store/store.js';

/** One alert as Alertmanager's v2 API takes it (postableAlert). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL: string;
}

export interface AlertmanagerOptions {
  /** Alertmanager's base URL, e.g. `http://alertmanager:9093` (`--alertmanager-url`). */
  readonly url: string;
  readonly store: Store;
  /** Where people look: the dashboard's base URL (links in annotations and generatorURL). */
  readonly externalUrl: string;
  /** Whether this process should post (holds the controller lease). */
  readonly isLeader: () => Promise<boolean>;
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

/** Starts polling the store and posting to Alertmanager; returns the handle. */
export function startAlertmanagerNotifier(options: AlertmanagerOptions): AlertmanagerNotifier {
  const url = `${parseAlertmanagerUrl(options.url)}/api/v2/alerts`;
  const base = options.externalUrl.replace(/\/+$/, '');
  const clock = options.clock ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const refreshMs = options.refreshMs ?? 30_000;
  const rollbackMs = options.rollbackAlertMs ?? 600_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const sent = new Map<string, Sent>();
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

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

  async function poll(): Promise<void> {
    if (!(await options.isLeader())) return;
    const now = clock();
    const desired = await desiredAlerts(options.store, base, now, rollbackMs);
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
    if (failing) options.logger?.info({ url }, 'Alertmanager reachable again');
    failing = false;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = poll()
        .catch((err: unknown) => {
          // Logged once per outage; the same alerts are posted again at the next poll.
          if (!failing) options.logger?.warn({ err, url }, 'could not post alerts to Alertmanager; retrying');
          failing = true;
        })
        .finally(schedule);
    }, pollMs);
    timer.unref();
  }
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

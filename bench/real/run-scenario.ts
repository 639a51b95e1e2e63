/**
 * One scenario of bench/real/real-releases.ts against a running `tern server`: C services, each
 * with its own long-running stable backend process and steady load through the gateway, each
 * running releases one after another (a fresh canary process per release, default analysis)
 * until N releases have run in all. A promoted canary becomes the slot's stable, as in real life
 * (for a regression that slipped through, the old stable is put back). Returns every outcome.
 */
import { setPriority } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startCpuMeter, type CpuReport } from './cpu.js';
import { quantile, startTarget, type Target, type TargetStats } from './load.js';
import { backendArgs, type BackendShape, type Scenario } from './scenarios.js';
import { startNode, type Proc } from '../../test/support/processes.js';

const BACKEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'backend.mjs');
const FINAL = new Set(['promoted', 'rolled_back', 'failed']);

export interface RunOptions {
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly token: string;
  readonly serverPid: number;
  readonly releases: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly rps: number;
  readonly users: number;
  readonly weight: number;
  /** Seconds of the direct-vs-gateway latency probe before the releases. */
  readonly probeSeconds: number;
  /** Scheduling priority (nice) for the backends, 0 to leave it. */
  readonly priority: number;
  readonly log: (line: string) => void;
}

export interface ReleaseOutcome {
  readonly slot: number;
  readonly n: number;
  /** promoted | rolled_back | failed | timeout | error */
  readonly outcome: string;
  /** From the release's start to its end (server clock). */
  readonly seconds: number;
  readonly reason: string;
  /**
   * The closest the latency check came to failing: the largest statistic/bound over the
   * release's stored verdicts (≥ 1 is a failure), NaN when it stored none.
   */
  readonly latencyPeak: number;
}

export interface Probe {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly outcomes: readonly ReleaseOutcome[];
  readonly direct: Probe;
  readonly gateway: Probe;
  /** Client-side latency through the gateway over the whole run, every service. */
  readonly underLoad: Probe;
  readonly loadSent: number;
  readonly loadFailed: number;
  /** Sends the load generator skipped: the machine could not keep the rate. */
  readonly loadSkipped: number;
  readonly cpu: CpuReport;
}

interface Backend {
  readonly proc: Proc;
  readonly url: string;
}

const backends = new Set<Backend>();

async function startBackend(shape: BackendShape, version: string, priority: number): Promise<Backend> {
  const proc = startNode([BACKEND, ...backendArgs(shape, version)]);
  if (priority !== 0 && proc.child.pid !== undefined) setPriority(proc.child.pid, priority);
  const [, port] = await proc.waitFor(/listening (\d+)/);
  const backend = { proc, url: `http://127.0.0.1:${port}` };
  backends.add(backend);
  return backend;
}

/** Stops `b` after `afterMs` (requests in flight to it finish first). */
function retire(b: Backend, afterMs = 2000): void {
  backends.delete(b);
  setTimeout(() => void b.proc.kill('SIGKILL'), afterMs).unref();
}

function probeOf(stats: TargetStats, seconds: number): Probe {
  return { p50: quantile(stats.latencies, 0.5), p99: quantile(stats.latencies, 0.99), rps: stats.answered / seconds };
}

/**
 * The largest statistic/bound of `check` over the verdicts of an analysis answer (NaN for none),
 * and that verdict's sentence.
 */
function peakOf(analysis: Record<string, unknown>, check: string): { peak: number; detail: string } {
  let peak = Number.NaN;
  let detail = '';
  const verdicts = Array.isArray(analysis.verdicts) ? (analysis.verdicts as Array<{ checks?: unknown }>) : [];
  for (const v of verdicts) {
    for (const c of Array.isArray(v.checks) ? (v.checks as Array<Record<string, unknown>>) : []) {
      if (c.check !== check || typeof c.statistic !== 'number' || typeof c.bound !== 'number' || !(c.bound > 0)) continue;
      const ratio = c.statistic / c.bound;
      if (ratio <= peak) continue;
      peak = ratio;
      detail = typeof c.detail === 'string' ? c.detail : '';
    }
  }
  return { peak, detail };
}

/** Runs `scenario`; throws only when the server refuses the setup. */
export async function runScenario(scenario: Scenario, o: RunOptions): Promise<ScenarioResult> {
  const api = async (method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${o.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${o.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  const names = Array.from({ length: o.concurrency }, (_, k) => `${scenario.name}-${k}`);
  const stables: Backend[] = [];
  for (const name of names) {
    const stable = await startBackend(scenario.stable, 'r0', o.priority);
    stables.push(stable);
    const created = await api('POST', '/api/v1/services', {
      name,
      match: { pathPrefix: `/${name}` },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'r0', endpoints: [stable.url] },
    });
    if (created.status !== 201) throw new Error(`creating service ${name}: ${created.status} ${JSON.stringify(created.json)}`);
  }

  // What the gateway costs here: the same rate to one stable backend, directly and through Tern.
  const probe = async (origin: string, p: string): Promise<Probe> => {
    const t = startTarget({ origin, path: p, rps: o.rps, users: o.users, userPrefix: 'probe', maxSeconds: o.probeSeconds });
    await sleep(o.probeSeconds * 1000 + 200);
    return probeOf(await t.stop(), o.probeSeconds);
  };
  const direct = await probe(stables[0]!.url, '/');
  const gateway = await probe(o.gatewayUrl, `/${names[0]}`);

  const rounds = Math.ceil(o.releases / o.concurrency);
  const maxSeconds = rounds * (o.seconds + 150) + 60;
  const loads: Target[] = names.map((name, k) =>
    startTarget({ origin: o.gatewayUrl, path: `/${name}`, rps: o.rps, users: o.users, userPrefix: `u${k}-`, maxSeconds }),
  );
  const loadStarted = performance.now();
  await sleep(2000);
  const cpu = startCpuMeter(o.serverPid, () => [...backends].map((b) => b.proc.child.pid ?? 0));

  const outcomes: ReleaseOutcome[] = [];
  let next = 0;
  const runSlot = async (k: number): Promise<void> => {
    let stable = stables[k]!;
    const name = names[k]!;
    while (next < o.releases) {
      const n = ++next;
      const canary = await startBackend(scenario.canary, `r${n}`, o.priority);
      const started = await api('POST', `/api/v1/services/${name}/releases`, {
        version: `r${n}`,
        endpoints: [canary.url],
        steps: [{ weight: o.weight, hold: `${o.seconds}s` }, { weight: 100 }],
      });
      if (started.status !== 201) {
        outcomes.push({
          slot: k,
          n,
          outcome: 'error',
          seconds: Number.NaN,
          reason: `${started.status} ${JSON.stringify(started.json)}`,
          latencyPeak: Number.NaN,
        });
        retire(canary, 0);
        await sleep(1000);
        continue;
      }
      const id = String(started.json.id);
      const deadline = Date.now() + (o.seconds + 120) * 1000;
      let release = started.json;
      while (!FINAL.has(String(release.status)) && Date.now() < deadline) {
        await sleep(500);
        release = (await api('GET', `/api/v1/releases/${id}`)).json;
      }
      let outcome = String(release.status);
      if (!FINAL.has(outcome)) {
        outcome = 'timeout';
        await api('POST', `/api/v1/releases/${id}/rollback`, { reason: 'bench/real: no verdict in time' });
      }
      const endedAt = typeof release.endedAt === 'string' ? Date.parse(release.endedAt) : Date.now();
      const seconds = (endedAt - Date.parse(typeof release.startedAt === 'string' ? release.startedAt : '')) / 1000;
      const reason = typeof release.reason === 'string' ? release.reason : '';
      const { peak: latencyPeak, detail } = peakOf((await api('GET', `/api/v1/releases/${id}/analysis`)).json, 'latency');
      outcomes.push({ slot: k, n, outcome, seconds, reason, latencyPeak });
      o.log(
        `  ${scenario.name} #${n} (slot ${k}) ${outcome} after ${seconds.toFixed(1)} s, latency peak ${latencyPeak.toFixed(2)} of its bound` +
          `${outcome === 'promoted' ? ` (${detail.slice(0, 200)})` : `: ${reason.slice(0, 300)}`}`,
      );
      if (outcome === 'promoted' && scenario.expect === 'promote') {
        retire(stable);
        stable = canary;
      } else {
        if (outcome === 'promoted') {
          // A regression got through: put the healthy stable back for the next release.
          await api('PATCH', `/api/v1/services/${name}`, { stable: { version: `r0-${n}`, endpoints: [stable.url] } });
        }
        retire(canary);
      }
    }
    stables[k] = stable;
  };
  await Promise.all(names.map((_, k) => runSlot(k)));

  const cpuReport = cpu.stop();
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  // Answers that came back while the releases ran, before the last waiting requests drain.
  const answeredInTime = loads.reduce((a, l) => a + l.stats.answered, 0);
  const stats = await Promise.all(loads.map((l) => l.stop()));
  const all = stats.flatMap((s) => s.latencies);
  for (const name of names) await api('DELETE', `/api/v1/services/${name}`);
  for (const s of stables) retire(s, 0);
  return {
    scenario,
    outcomes,
    direct,
    gateway,
    underLoad: { p50: quantile(all, 0.5), p99: quantile(all, 0.99), rps: answeredInTime / loadSeconds },
    loadSent: stats.reduce((a, s) => a + s.sent, 0),
    loadFailed: stats.reduce((a, s) => a + s.failed, 0),
    loadSkipped: stats.reduce((a, s) => a + s.skipped, 0),
    cpu: cpuReport,
  };
}

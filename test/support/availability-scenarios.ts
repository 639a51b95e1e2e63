/**
 * The two availability scenarios, shared by the e2e tests (CI-sized rate) and
 * `bench/availability/run.ts` (1,000 rps): a release with analysis on progresses under a steady
 * load sent through two standalone `tern gateway`s (see tern-cluster.ts) while
 *
 * - `leaderKill`: the leading `tern server` is SIGKILLed (its built-in gateway dies with it,
 *   which is why users reach the standalone gateways, as in production);
 * - `rollingRestart`: every Tern process is restarted one at a time — SIGTERM (drain), start the
 *   replacement on the same port, wait until it is ready, next.
 *
 * Each returns the figures; the callers decide what to assert or print.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { p99Between, startBalancedLoad, type BalancedStats } from './balanced-load.js';
import { startVersionApp } from './processes.js';
import { startTernCluster, type TernCluster } from './tern-cluster.js';

export interface ScenarioOptions {
  baseUrl: string;
  rps: number;
  /** Called with each step as it happens (progress for the bench). */
  log?: (line: string) => void;
}

interface ReleaseJson {
  id: string;
  status: string;
  weight: number;
  reason: string | null;
}

export interface ReleaseEvent {
  at: number;
  action: string;
  actor: string;
  reason: string | null;
}

export interface ScenarioResult {
  stats: BalancedStats;
  release: ReleaseJson;
  /** The release's audit events, oldest first. */
  events: ReleaseEvent[];
  steps: number;
  p99BeforeMs: number;
  p99DuringMs: number;
}

export interface LeaderKillResult extends ScenarioResult {
  leaseMs: number;
  killedAt: number;
  /** From the SIGKILL to the survivor's controller holding the lease. */
  takeoverMs: number;
  /** From the SIGKILL to the release's next controller move (advance or promote). */
  resumedMs: number;
  survivorHolds: boolean;
}

export interface RollingRestartResult extends ScenarioResult {
  /** Each restarted process, how long its stop and its restart took, and its exit code. */
  restarts: { what: string; exit: number | null; stopMs: number; startMs: number }[];
  /** Audit events listed, their distinct ids, and what the verifiable export says. */
  audit: { listed: number; distinct: number; exportText: string };
}

const CONTROLLER_MOVES = new Set(['release.advance', 'release.promote', 'release.promoted', 'release.pause', 'release.rollback']);

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function releaseEvents(cluster: TernCluster, id: string): Promise<ReleaseEvent[]> {
  const { json } = await cluster.api<{ events: { at: string | number; action: string; actor: string; reason: string | null }[] }>(
    'GET',
    `/api/v1/releases/${id}/events`,
  );
  return json.events
    .map((e) => ({ at: typeof e.at === 'number' ? e.at : Date.parse(e.at), action: e.action, actor: e.actor, reason: e.reason }))
    .reverse();
}

async function startRelease(cluster: TernCluster, steps: { weight: number; hold?: string }[]): Promise<string> {
  const canary = await startVersionApp('v2');
  const { status, json } = await cluster.api<{ id: string }>('POST', '/api/v1/services/shop/releases', {
    version: 'v2',
    endpoints: [canary.url],
    steps,
  });
  if (status !== 201) throw new Error(`starting the release: ${status} ${JSON.stringify(json)}`);
  return json.id;
}

async function finished(cluster: TernCluster, id: string, timeoutMs: number): Promise<ReleaseJson> {
  return eventually(
    'the release to end',
    async () => {
      const { json } = await cluster.api<ReleaseJson>('GET', `/api/v1/releases/${id}`);
      return ['promoted', 'rolled_back', 'paused', 'failed'].includes(json.status) ? json : undefined;
    },
    timeoutMs,
  );
}

/** Leader SIGKILL mid-release under `rps`; `leaseMs` is the servers' --lease-ttl. */
export async function leaderKill(options: ScenarioOptions & { leaseMs: number }): Promise<LeaderKillResult> {
  const log = options.log ?? (() => undefined);
  const cluster = await startTernCluster({ baseUrl: options.baseUrl, leaseTtl: `${options.leaseMs / 1000}s` });
  try {
    const [first, second] = cluster.servers as [TernCluster['servers'][0], TernCluster['servers'][0]];
    const load = startBalancedLoad(
      cluster.gateways.map((g) => g.url),
      { rps: options.rps, users: 5000, maxSeconds: 85 },
    );
    const loadStarted = Date.now();
    const steps = [{ weight: 20, hold: '10s' }, { weight: 50, hold: '6s' }, { weight: 100 }];
    const id = await startRelease(cluster, steps);
    await eventually(
      'the canary to be routed',
      () => Promise.resolve((load.stats.byVersion.get('v2') ?? 0) > 50 ? true : undefined),
      20_000,
    );
    await sleep(2_000);
    // Kill whichever server leads now (on a starved machine a late renewal can move the lease early).
    const watcher = cluster.watchLease();
    const holder = await eventually('a leader', () => cluster.leaseHolder(), options.leaseMs + 5_000);
    await eventually('the lease watcher', () => Promise.resolve(watcher.at(holder)), 20_000);
    const [leader, survivor] = holder === `controller-${first.proc.child.pid}` ? [first, second] : [second, first];
    const killedAt = Date.now();
    log(`SIGKILL to the leader (pid ${leader.proc.child.pid}) at step 1, ${killedAt - loadStarted} ms into the load`);
    await cluster.stopServer(leader, 'SIGKILL');
    const survivorName = `controller-${survivor.proc.child.pid}`;
    const tookAt = await eventually(
      'the survivor to take the lease',
      () => Promise.resolve(watcher.at(survivorName, killedAt)),
      options.leaseMs + 20_000,
    );
    await watcher.stop();
    const takeoverMs = tookAt - killedAt;
    log(`the survivor holds the lease ${takeoverMs} ms after the kill`);
    const release = await finished(cluster, id, 60_000);
    await sleep(1_500); // both gateways route the final table
    const stats = await load.stop();
    const events = await releaseEvents(cluster, id);
    const resumed = events.find((e) => e.at > killedAt && CONTROLLER_MOVES.has(e.action));
    return {
      stats,
      release,
      events,
      steps: steps.length,
      leaseMs: options.leaseMs,
      killedAt,
      takeoverMs,
      resumedMs: resumed === undefined ? Number.POSITIVE_INFINITY : resumed.at - killedAt,
      survivorHolds: (await cluster.leaseHolder()) === survivorName,
      p99BeforeMs: p99Between(stats, loadStarted + 1_000, killedAt),
      p99DuringMs: p99Between(stats, killedAt, killedAt + takeoverMs + 5_000),
    };
  } finally {
    await cluster.destroy();
  }
}

/** Every Tern process restarted one at a time mid-release under `rps`. */
export async function rollingRestart(options: ScenarioOptions): Promise<RollingRestartResult> {
  const log = options.log ?? (() => undefined);
  const cluster = await startTernCluster({ baseUrl: options.baseUrl, leaseTtl: '3s', drainTimeout: '10s' });
  try {
    const load = startBalancedLoad(
      cluster.gateways.map((g) => g.url),
      { rps: options.rps, users: 5000, maxSeconds: 85 },
    );
    const loadStarted = Date.now();
    const steps = [{ weight: 10, hold: '8s' }, { weight: 30, hold: '8s' }, { weight: 60, hold: '8s' }, { weight: 100 }];
    const id = await startRelease(cluster, steps);
    await eventually(
      'the canary to be routed',
      () => Promise.resolve((load.stats.byVersion.get('v2') ?? 0) > 20 ? true : undefined),
      20_000,
    );
    await sleep(1_000);
    const auditBefore = await cluster.api<{ events: { id: number }[] }>('GET', '/api/v1/audit?limit=1000');
    const eventStarted = Date.now();
    const restarts: RollingRestartResult['restarts'] = [];
    const restart = async (what: string, stop: () => Promise<number | null>, start: () => Promise<void>): Promise<void> => {
      const t0 = Date.now();
      const exit = await stop();
      const t1 = Date.now();
      await start();
      restarts.push({ what, exit, stopMs: t1 - t0, startMs: Date.now() - t1 });
      log(`${what}: exit ${exit} after ${t1 - t0} ms, ready again ${Date.now() - t1} ms later`);
    };
    for (const [i, s] of cluster.servers.entries())
      await restart(
        `server ${i + 1}`,
        () => cluster.stopServer(s, 'SIGTERM'),
        () => cluster.startServer(s),
      );
    for (const [i, g] of cluster.gateways.entries())
      await restart(
        `gateway ${i + 1}`,
        () => cluster.stopGateway(g, 'SIGTERM'),
        () => cluster.startGateway(g),
      );
    const eventEnded = Date.now();
    const release = await finished(cluster, id, 60_000);
    await sleep(1_500);
    const stats = await load.stop();
    const events = await releaseEvents(cluster, id);
    const auditAfter = await cluster.api<{ events: { id: number }[] }>('GET', '/api/v1/audit?limit=1000');
    const ids = auditAfter.json.events.map((e) => e.id);
    const lost = auditBefore.json.events.filter((e) => !ids.includes(e.id));
    if (lost.length > 0) throw new Error(`audit events lost: ${lost.map((e) => e.id).join(', ')}`);
    const server = cluster.servers[0]!;
    const exported = await fetch(`${server.apiUrl}/api/v1/audit/export`, { headers: { authorization: `Bearer ${cluster.adminToken}` } });
    return {
      stats,
      release,
      events,
      steps: steps.length,
      restarts,
      audit: { listed: ids.length, distinct: new Set(ids).size, exportText: await exported.text() },
      p99BeforeMs: p99Between(stats, loadStarted + 1_000, eventStarted),
      p99DuringMs: p99Between(stats, eventStarted, eventEnded),
    };
  } finally {
    await cluster.destroy();
  }
}

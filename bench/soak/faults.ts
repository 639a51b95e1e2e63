/**
 * The soak's faults, each done to real processes of the cluster of
 * test/support/tern-cluster.ts (two `tern server`s on a private PostgreSQL, two `tern gateway
 * --workers 2`): kill a gateway worker, SIGKILL the leader and start it again, restart a gateway
 * (SIGTERM: drain, then start it on its port), stop PostgreSQL for 10 s, promote or roll back the
 * release in progress (and start the next one). Picked by a seeded generator, so a run can be
 * repeated fault for fault.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PostgresCluster } from '../../test/support/postgres-cluster.js';
import { startVersionApp } from '../../test/support/processes.js';
import type { TernCluster } from '../../test/support/tern-cluster.js';
import { childrenOf } from '../scale/probe.js';

export const FAULTS = ['gateway-worker-kill', 'leader-kill', 'gateway-restart', 'postgres-stop', 'release-end'] as const;
export type FaultKind = (typeof FAULTS)[number];

/** mulberry32: a small seeded generator, uniform on [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The faults in a seeded random order that deals every kind once per round of five (a shuffled
 * bag), so even a short run meets each of them.
 */
export function faultOrder(random: () => number): () => FaultKind {
  let bag: FaultKind[] = [];
  return () => {
    if (bag.length === 0) {
      bag = [...FAULTS];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [bag[i], bag[j]] = [bag[j]!, bag[i]!];
      }
    }
    return bag.pop()!;
  };
}

/** An API call whose audit event the soak expects: `ok` true (2xx), false (refused), or null (no answer: unknown). */
export interface Expected {
  readonly action: string;
  readonly releaseId: string;
  readonly ok: boolean | null;
  readonly at: number;
}

interface ReleaseJson {
  id: string;
  status: string;
  weight: number;
}

const ACTIVE = new Set(['pending', 'progressing', 'paused', 'promoting']);

/** The releases the soak starts, one at a time, each with a fresh canary app v2, v3, … */
export class Releases {
  readonly expected: Expected[] = [];
  #current: string | null = null;
  #next = 2;
  readonly #cluster: TernCluster;

  constructor(cluster: TernCluster) {
    this.#cluster = cluster;
  }

  async #call(action: string, releaseId: string, method: string, url: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const at = Date.now();
    try {
      const r = await this.#cluster.api<unknown>(method, url, body);
      this.expected.push({ action, releaseId, ok: r.status < 300, at });
      return r;
    } catch (err) {
      this.expected.push({ action, releaseId, ok: null, at });
      throw err;
    }
  }

  /** Starts the next release: 10% → 50% → 100%, 2 min holds (so a round of faults finds it in progress), analysis on (a healthy canary). */
  async start(): Promise<string> {
    const version = `v${this.#next++}`;
    const canary = await startVersionApp(version);
    const steps = [{ weight: 10, hold: '2m' }, { weight: 50, hold: '2m' }, { weight: 100 }];
    const r = await this.#call('release.start', '', 'POST', '/api/v1/services/shop/releases', { version, endpoints: [canary.url], steps });
    const id = (r.json as { id?: string }).id;
    if (r.status !== 201 || id === undefined) throw new Error(`starting ${version}: ${r.status} ${JSON.stringify(r.json)}`);
    // The start's event names the release: keep the id with the expectation.
    const last = this.expected.pop()!;
    this.expected.push({ ...last, releaseId: id });
    this.#current = id;
    return `started ${version} (${id})`;
  }

  /** Promotes (to 100% at once) or rolls back the release in progress, then starts the next one. */
  async end(promote: boolean): Promise<string> {
    let said = 'no release in progress';
    if (this.#current !== null) {
      const id = this.#current;
      const { json } = await this.#cluster.api<ReleaseJson>('GET', `/api/v1/releases/${id}`);
      if (ACTIVE.has(json.status)) {
        const action = promote ? 'promote' : 'rollback';
        const body = promote ? { full: true, reason: 'soak' } : { reason: 'soak' };
        const r = await this.#call(`release.${action}`, id, 'POST', `/api/v1/releases/${id}/${action}`, body);
        said = `${action} ${id} at ${json.weight}%: ${r.status}`;
      } else said = `${id} already ${json.status}`;
    }
    return `${said}; ${await this.start()}`;
  }
}

export interface FaultContext {
  readonly cluster: TernCluster;
  readonly postgres: PostgresCluster;
  readonly releases: Releases;
  readonly random: () => number;
  /** Pids a restart replaced: the memory sampler starts a new series for them. */
  readonly restarted: (what: string) => void;
}

/**
 * Gateway faults hit gateway 1 only. Gateway 2 is the control: it lives through the whole run
 * (it still sees every leader kill, database stop and release), so its memory trend over the
 * last 5 minutes is measurable; with both restarted at random, neither often lived that long.
 */
const FAULTED_GATEWAY = 0;

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/** Does one fault; resolves with what was done. */
export async function inject(kind: FaultKind, ctx: FaultContext): Promise<string> {
  const { cluster, random } = ctx;
  switch (kind) {
    case 'gateway-worker-kill': {
      const i = FAULTED_GATEWAY;
      const workers = childrenOf(cluster.gateways[i]!.proc.child.pid!);
      const pid = pick(random, workers);
      if (pid === undefined) return `gateway ${i + 1} has no worker to kill`;
      process.kill(pid, 'SIGKILL');
      return `SIGKILL to gateway ${i + 1}'s worker pid ${pid} (its primary starts another)`;
    }
    case 'leader-kill': {
      const holder = await cluster.leaseHolder();
      const i = cluster.servers.findIndex((s) => holder === `controller-${s.proc.child.pid}`);
      if (i < 0) return `no leader holds the lease (${holder ?? 'none'})`;
      const s = cluster.servers[i]!;
      const pid = s.proc.child.pid;
      await cluster.stopServer(s, 'SIGKILL');
      const t = Date.now();
      // A starved machine can take longer than the start's 30 s: one more try, so the run goes on with two servers.
      const again = await cluster.startServer(s).then(
        () => '',
        async (err: unknown) => {
          await cluster.stopServer(s, 'SIGKILL');
          await cluster.startServer(s);
          return ` (the first start failed: ${(err as Error).message.split('\n')[0]!.slice(0, 60)}…)`;
        },
      );
      ctx.restarted(`server ${i + 1}`);
      return `SIGKILL to the leader, server ${i + 1} (pid ${pid}); started again, ready ${Date.now() - t} ms later${again}`;
    }
    case 'gateway-restart': {
      const i = FAULTED_GATEWAY;
      const g = cluster.gateways[i]!;
      const t0 = Date.now();
      const exit = await cluster.stopGateway(g, 'SIGTERM');
      const t1 = Date.now();
      await cluster.startGateway(g);
      ctx.restarted(`gateway ${i + 1}`);
      return `gateway ${i + 1} restarted: drained and exited ${exit} in ${t1 - t0} ms, listening again ${Date.now() - t1} ms later`;
    }
    case 'postgres-stop': {
      const t0 = Date.now();
      await ctx.postgres.stop();
      await sleep(10_000);
      await ctx.postgres.start();
      return `PostgreSQL stopped (fast shutdown) and started again: ${Date.now() - t0} ms without a database`;
    }
    case 'release-end':
      return ctx.releases.end(random() < 0.5);
    default: {
      const never: never = kind;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}

/**
 * The process driver: for a pending release without endpoints it picks free ports on
 * 127.0.0.1, starts the service's command N times (spawn.ts), records their pids on the release
 * at once (so a restarted controller finds them: it stops half-started ones and starts afresh,
 * and adopts ready ones), waits in the background until each answers its readiness path,
 * then registers their endpoints on the release — which the routing table picks up — or ends
 * the release `failed` with the exit code or timeout and the last log lines. Retiring stops
 * each instance's process group (SIGTERM, SIGKILL after the grace period). What it holds in memory
 * (launches in progress, retirements running) is one LaunchState (launch-state.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { transition } from '../../core/release-state.js';
import { moveDeployment } from '../../core/deployment-state.js';
import type { DeployedInstance, ProcessDeploy, Release, Service } from '../../core/types.js';
import { systemAudit } from '../move.js';
import type { Driver, DriverContext } from './driver.js';
import { tailLines } from './log-tail.js';
import { carriesMarker, stopGroup } from './process-group.js';
import { freePort, waitReady } from './readiness.js';
import { instanceMarker, spawnInstance } from './spawn.js';
import { LaunchState, type Launch } from './launch-state.js';
import { openInstanceRegistry, type RegisteredInstance } from './instance-registry.js';

/** Creates the process driver. */
export function createProcessDriver(ctx: DriverContext): Driver {
  const state = new LaunchState();
  const logDir = `${ctx.dataDir}/logs`;
  const registry = openInstanceRegistry(`${ctx.dataDir}/instances.json`);
  /** The registry is a safety net for deleted services: failing to write it must not stop a deploy or a retirement. */
  const noted = (what: string) => (err: unknown) => ctx.logger?.warn({ err }, `could not ${what} the instance list (instances.json)`);

  async function stopInstances(
    releaseId: string,
    instances: ReadonlyArray<Pick<DeployedInstance, 'index' | 'pid'>>,
    ours: readonly ChildProcess[] = [],
  ): Promise<void> {
    const ownPids = new Set(ours.map((c) => c.pid));
    await Promise.all(
      instances.map(async (i) => {
        // A pid from an earlier controller may have been reused by another program: check before signalling its group.
        if (!ownPids.has(i.pid) && !carriesMarker(i.pid, instanceMarker(releaseId, i.index))) return;
        await stopGroup(i.pid, ctx.graceMs);
      }),
    );
  }

  async function begin(release: Release, spec: ProcessDeploy, now: number): Promise<void> {
    if (release.deployment?.state === 'starting') {
      ctx.logger?.warn(
        { release: release.id, pids: release.deployment.instances.map((i) => i.pid) },
        'stopping instances a previous controller left half-started',
      );
      await stopInstances(release.id, release.deployment.instances);
    }
    const launch = state.open(release.id);
    try {
      for (let index = 0; index < spec.instances; index++) {
        const port = await freePort();
        launch.spawned.push(
          await spawnInstance({
            releaseId: release.id,
            spec,
            service: release.service,
            version: release.version,
            index,
            port,
            logDir,
            now,
          }),
        );
      }
    } catch (err) {
      launch.outcome = { reason: `could not start ${spec.command}: ${(err as Error).message}` };
      return;
    }
    const instances = launch.spawned.map((s) => s.instance);
    await registry.add(instances.map((i) => ({ releaseId: release.id, index: i.index, pid: i.pid }))).catch(noted('add to'));
    const reason = `started ${instances.length} instance(s) of ${release.version}; waiting for ${spec.readiness.path}`;
    launch.persisted = await ctx.move(
      release,
      'release.deploy.started',
      reason,
      (r) => ({ ...r, deployment: moveDeployment(r.deployment, 'starting', instances, now) }),
      {
        pids: instances.map((i) => i.pid),
      },
    );
    if (!launch.persisted) {
      state.end(release.id);
      await stopInstances(
        release.id,
        instances,
        launch.spawned.map((s) => s.child),
      );
      await registry.remove(release.id).catch(noted('update'));
      return;
    }
    void awaitReady(launch, spec);
  }

  async function awaitReady(launch: Launch, spec: ProcessDeploy): Promise<void> {
    const reasons = await Promise.all(
      launch.spawned.map(async ({ instance, exited }) => {
        const url = `${instance.endpoint}${spec.readiness.path}`;
        const why = await waitReady({ url, timeoutMs: spec.readiness.timeoutMs, exited, signal: state.signal });
        if (why === null) return null;
        const tail = (await tailLines(instance.logFile, 5).catch(() => [])).join(' | ');
        return `instance ${instance.index} (pid ${instance.pid}) never became ready: ${why}${tail ? `; last log lines: ${tail}` : ''}`;
      }),
    );
    launch.outcome = { reason: reasons.find((r) => r !== null) ?? null };
  }

  async function finish(release: Release, launch: Launch, reason: string | null, now: number): Promise<void> {
    const instances = launch.spawned.map((s) => s.instance);
    if (reason === null) {
      const ready = `${instances.length} instance(s) of ${release.version} ready`;
      const moved = await ctx.move(release, 'release.deploy.ready', ready, (r) => ({
        ...r,
        endpoints: instances.map((i) => i.endpoint),
        deployment: moveDeployment(r.deployment, 'ready', instances, now),
      }));
      if (moved) return;
    } else {
      // `failed` is for a canary that never started; one already moved on by hand rolls back instead.
      const to = release.status === 'pending' ? 'failed' : 'rolling_back';
      await ctx.move(release, to === 'failed' ? 'release.failed' : 'release.rollback', reason, (r) => ({
        ...transition(r, to, now, reason),
        deployment: moveDeployment(r.deployment, 'failed', instances, now),
      }));
    }
    // Failed, or the release moved on meanwhile (e.g. rolled back by hand): these instances are not wanted.
    const current = await ctx.store.getRelease(release.id);
    if (current) await retire(current, reason ?? 'the release moved on before its instances were ready');
  }

  async function retireNow(release: Release, why: string): Promise<void> {
    const d = release.deployment;
    if (!d || d.state === 'retired') return;
    await stopInstances(release.id, d.instances, state.children(release.id));
    await registry.remove(release.id).catch(noted('update'));
    const pids = d.instances.map((i) => i.pid);
    await ctx.store.updateRelease(
      release.id,
      // Already retired (by another controller meanwhile): left as it is, not retired twice.
      (r) => ({
        ...r,
        deployment:
          r.deployment && r.deployment.state !== 'retired'
            ? moveDeployment(r.deployment, 'retired', r.deployment.instances, ctx.clock())
            : (r.deployment ?? null),
      }),
      systemAudit(release, 'release.deploy.retired', why, { pids }),
    );
    ctx.logger?.info({ release: release.id, pids, why }, 'instances retired');
  }

  function retire(release: Release, why: string): Promise<void> {
    return state.retireOnce(release.id, () =>
      retireNow(release, why).catch((err: unknown) =>
        ctx.logger?.error({ err, release: release.id }, 'could not retire instances; retrying later'),
      ),
    );
  }

  /** Stops listed instances whose release no longer exists (its service was deleted). */
  async function collectOrphans(): Promise<void> {
    const byRelease = new Map<string, RegisteredInstance[]>();
    for (const e of await registry.list()) byRelease.set(e.releaseId, [...(byRelease.get(e.releaseId) ?? []), e]);
    for (const [releaseId, instances] of byRelease) {
      if (state.busy(releaseId)) continue;
      const release = await ctx.store.getRelease(releaseId);
      if (release && release.deployment?.state !== 'retired') continue;
      if (!release) {
        await stopInstances(releaseId, instances);
        ctx.logger?.warn(
          { release: releaseId, pids: instances.map((i) => i.pid) },
          'stopped instances whose release was deleted with its service',
        );
      }
      await registry.remove(releaseId);
    }
  }

  return {
    kind: 'process',
    collectOrphans,
    async prepare(release: Release, service: Service, now: number) {
      if (service.deploy?.driver !== 'process') return;
      const launch = state.get(release.id);
      if (!launch) return begin(release, service.deploy, now);
      if (!launch.outcome) return;
      state.end(release.id);
      await finish(release, launch, launch.outcome.reason, now);
    },
    retire,
    async stop() {
      // Unrecorded instances would be orphans nobody can find again.
      for (const [id, launch] of state.abort()) {
        await stopInstances(
          id,
          launch.spawned.map((s) => s.instance),
          launch.spawned.map((s) => s.child),
        );
      }
      await state.drain();
    },
  };
}

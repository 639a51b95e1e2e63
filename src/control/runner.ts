/**
 * The release runner's loop: once a tick, while this controller holds the leader lease, drives
 * every active release one move along its plan (per-status handling in drive-release.ts: the
 * deploy driver, webhook gates, the data planes' confirmation, judging, advancing, promoting,
 * failing) by writing through the store. All state (status, step, step start, started processes) lives in
 * the store, so a controller killed and restarted continues each release at the same step with
 * the remaining hold; every move is a compare-and-set inside the store's transaction (move.ts),
 * so two controllers (or a controller and a person) can never double-advance a release.
 * Webhook calls and readiness waits run in the background: no release waits on another's.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DEFAULT_APPLY_TIMEOUT_MS } from '../core/data-plane.js';
import { ValidationError } from '../core/errors.js';
import { systemClock, type Clock, type Release } from '../core/types.js';
import type { Store } from '../store/store.js';
import { createApplyWait, type AwaitApplied } from './apply-wait.js';
import { createCustomChecks } from './custom-checks.js';
import type { DecideOptions } from './decide.js';
import { createReleaseDriver } from './drive-release.js';
import { createDeployer, type Deployer } from './drivers/deployer.js';
import { createGateStep, type PassGate } from './gate-step.js';
import { createEvidenceHold } from './evidence-hold.js';
import { createJudging } from './judging.js';
import { createPrometheusEvidence } from './prometheus-evidence.js';
import type { ControllerMetrics } from './metrics.js';
import { createMover, type Move } from './move.js';
import { createPoster, type Poster } from './notify/deliver.js';
import type { WebhookPolicy } from './notify/destinations.js';
import { createGateKeeper, type GateKeeper } from './notify/gates.js';
import { startNotifier, type Notifier } from './notify/notifier.js';

export interface ControllerOptions {
  readonly store: Store;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How often releases are looked at. Default 1 s. */
  readonly tickMs?: number;
  /** This controller's name for the leader lease (several controllers may share a database). */
  readonly holder?: string;
  /**
   * The leader lease (ms), renewed every tick: after a leader dies, another controller takes
   * over within this time. Default 3 × tickMs, at least 3 s; must exceed 2 × tickMs.
   */
  readonly leaseTtlMs?: number;
  readonly decide?: DecideOptions;
  /** Signs webhook calls (`x-tern-signature`). Default: a random secret, so receivers cannot verify — set it. */
  readonly webhookSecret?: string;
  /** Where webhook calls may go (the admin's allow-list); default: anywhere but loopback, link-local and unspecified addresses. */
  readonly webhookPolicy?: WebhookPolicy;
  /** Sends webhook calls (tests); default signs with `webhookSecret` and keeps to `webhookPolicy`. */
  readonly post?: Poster;
  /** Gate backoff after n failures (ms); default 1 s · 2^(n-1), at most 1 min. */
  readonly gateBackoffMs?: (failures: number) => number;
  /** Event retries' waits (ms); default 1 s · 2^(n-1). */
  readonly eventRetryDelayMs?: (attempt: number) => number;
  /** Process-driver instance logs go under `<dataDir>/logs`. Default `./.tern`. */
  readonly dataDir?: string;
  /** Between SIGTERM and SIGKILL when retiring instances. Default 10 s. */
  readonly retireGraceMs?: number;
  /**
   * How long a step waits for every live data plane carrying the service to apply its weight
   * before the release pauses. Default 30 s (`tern server --apply-timeout`).
   */
  readonly applyTimeoutMs?: number;
  /** Where the controller's Prometheus metrics go (the API's registry in `tern server`). */
  readonly metrics?: ControllerMetrics;
  /** The default Prometheus (`--prometheus-url`) of Prometheus-sourced services and custom checks that name none. */
  readonly prometheusUrl?: string | undefined;
}

export interface Controller {
  /** Runs one pass over the active releases (tests call it with a fake clock). */
  tick(): Promise<void>;
  /** Resolves once no webhook call or notification is in flight (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const LEASE = 'release-controller';

interface Parts {
  readonly move: Move;
  readonly awaitApplied: AwaitApplied;
  readonly passGate: PassGate;
  readonly gates: GateKeeper;
  readonly deployer: Deployer;
  readonly notifier: Notifier;
}

/** Starts the loop (unless `tickMs` is 0) and returns the handle. */
export function startController(options: ControllerOptions): Controller {
  const clock = options.clock ?? systemClock;
  const tickMs = options.tickMs ?? 1000;
  const holder = options.holder ?? `controller-${process.pid}`;
  const leaseTtl = options.leaseTtlMs ?? Math.max(3 * tickMs, 3000);
  if (!Number.isInteger(leaseTtl) || leaseTtl <= 2 * tickMs)
    throw new ValidationError('leaseTtlMs', `expected a lease longer than two ticks (${2 * tickMs} ms), got ${leaseTtl}`);
  const prometheus = createPrometheusEvidence({
    store: options.store,
    clock,
    defaultUrl: options.prometheusUrl,
    logger: options.logger?.child({ component: 'prometheus-evidence' }),
  });
  const judging = createJudging(
    options.store,
    prometheus,
    createCustomChecks({ prometheusUrl: options.prometheusUrl, logger: options.logger?.child({ component: 'custom-checks' }) }),
  );
  let lastActive = new Set<string>();
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let wakeSoon = false;
  const parts = assemble(options, clock, {
    isLeader: () => options.store.acquireLease(LEASE, holder, leaseTtl),
    wake: () => {
      wakeSoon = true;
      if (timer && !running) {
        clearTimeout(timer);
        timer = setTimeout(loop, 0);
      }
    },
  });
  const drive = createReleaseDriver({
    ...parts,
    judging,
    decide: options.decide,
    metrics: options.metrics,
    evidenceHold: createEvidenceHold(prometheus, parts.move),
    judgedFrom: (release) => {
      const queries = prometheus.queriesOf(release);
      return queries ? { source: 'prometheus', queries, latencyBounds: prometheus.latencyBounds(release) } : null;
    },
  });

  async function tick(): Promise<void> {
    const now = clock();
    if (!(await options.store.acquireLease(LEASE, holder, leaseTtl))) {
      await prometheus.close(); // only the leader reads Prometheus
      return;
    }
    const releases = await options.store.listReleases({ active: true, limit: 1000 });
    await observe(releases);
    await prometheus
      .sync(releases, releases.length === 0 ? [] : await options.store.listServices())
      .catch((err: unknown) => options.logger?.error({ err }, 'reading Prometheus evidence failed; retrying next tick'));
    for (const release of releases) {
      try {
        await drive(release, now);
      } catch (err) {
        options.logger?.error({ err, release: release.id }, 'release step failed; retrying next tick');
      }
    }
    await parts.deployer.reconcile(now).catch((err: unknown) => options.logger?.error({ err }, 'retiring instances failed; retrying'));
    const keep = new Set(releases.map((r) => r.id));
    judging.prune(keep);
    parts.gates.prune(keep);
  }

  /**
   * Updates the metrics from the tick's own list of active releases (so they trail the moves of
   * a tick by one tick rather than cost another query), and observes those that ended since.
   */
  async function observe(current: readonly Release[]): Promise<void> {
    if (!options.metrics) return;
    const now = new Set(current.map((r) => r.id));
    const gone = [...lastActive].filter((id) => !now.has(id));
    const ended = (await Promise.all(gone.map((id) => options.store.getRelease(id)))).filter((r) => r !== undefined);
    options.metrics.observeTick(current, ended);
    lastActive = now;
  }

  const loop = (): void => {
    wakeSoon = false;
    running = tick()
      .catch((err: unknown) => options.logger?.error({ err }, 'controller tick failed'))
      .finally(() => {
        running = null;
        if (timer) timer = setTimeout(loop, wakeSoon ? 0 : tickMs);
      });
  };
  if (tickMs > 0) timer = setTimeout(loop, 0);

  return {
    tick,
    idle: async () => {
      await parts.gates.idle();
      await parts.notifier.idle();
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
      await prometheus.close();
      await parts.deployer.stop();
      await parts.gates.idle();
      await parts.notifier.stop();
      await options.store.releaseLease(LEASE, holder).catch(() => undefined);
    },
  };
}

/** Builds the mover, webhook machinery and deployer the runner drives releases with. */
function assemble(options: ControllerOptions, clock: Clock, hooks: { isLeader: () => Promise<boolean>; wake: () => void }): Parts {
  const { store, logger } = options;
  if (!options.post && !options.webhookSecret) logger?.warn('no webhook signing secret given; webhook receivers cannot verify calls');
  const post =
    options.post ??
    createPoster(options.webhookSecret ?? randomBytes(32).toString('hex'), {
      ...(options.webhookPolicy ? { policy: options.webhookPolicy } : {}),
      logger,
    });
  const move = createMover(store, logger);
  const gates = createGateKeeper({
    post,
    clock,
    logger,
    onSettled: hooks.wake,
    ...(options.gateBackoffMs ? { backoffMs: options.gateBackoffMs } : {}),
  });
  const notifier = startNotifier({
    store,
    post,
    logger,
    isLeader: hooks.isLeader,
    ...(options.eventRetryDelayMs ? { retryDelayMs: options.eventRetryDelayMs } : {}),
  });
  const deployer = createDeployer({
    store,
    move,
    clock,
    logger,
    dataDir: options.dataDir ?? '.tern',
    graceMs: options.retireGraceMs ?? 10_000,
  });
  const applyTimeoutMs = options.applyTimeoutMs ?? DEFAULT_APPLY_TIMEOUT_MS;
  if (!Number.isFinite(applyTimeoutMs) || applyTimeoutMs <= 0)
    throw new ValidationError('applyTimeoutMs', `expected a positive number of milliseconds, got ${applyTimeoutMs}`);
  const awaitApplied = createApplyWait(store, move, applyTimeoutMs);
  return { move, awaitApplied, passGate: createGateStep(store, gates, move), gates, deployer, notifier };
}

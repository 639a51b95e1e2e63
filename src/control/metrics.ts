/**
 * The controller's Prometheus metrics: each active release's status, weight and
 * step; how long releases took, by how they ended; and the judges' verdicts by outcome. They
 * go into the registry the API serves on `/metrics`, so one scrape sees API and controller.
 * Only the leading controller updates them (the one whose ticks run).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isFinal } from '../core/release-state.js';
import type { Release } from '../core/types.js';

export interface ControllerMetrics {
  /** Replaces the active-release gauges with `active`, and observes releases that ended since the last call. */
  observeTick(active: readonly Release[], ended: readonly Release[]): void;
  verdict(judge: string, outcome: string): void;
}

/** Registers the controller's metrics in `registry`. */
export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  const status = new Gauge({
    name: 'tern_release_status',
    help: 'Active releases: 1 for the release in its current status.',
    labelNames: ['service', 'release', 'version', 'status'] as const,
    registers,
  });
  const weight = new Gauge({
    name: 'tern_release_weight_percent',
    help: 'Share of users on the canary, per active release.',
    labelNames: ['service', 'release'] as const,
    registers,
  });
  const step = new Gauge({
    name: 'tern_release_step',
    help: 'Current step (1-based) of each active release.',
    labelNames: ['service', 'release'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'tern_release_duration_seconds',
    help: 'From start to end of a release, by how it ended (promoted, rolled_back, failed).',
    labelNames: ['outcome'] as const,
    buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21_600, 86_400],
    registers,
  });
  // Only the leader ticks, so the newest timestamp across controllers says a leader is alive.
  const lastTick = new Gauge({
    name: 'tern_controller_last_tick_timestamp_seconds',
    help: 'When this controller last ran a tick as the leader (Unix seconds); 0 if never.',
    registers,
  });
  lastTick.set(0);
  const verdicts = new Counter({
    name: 'tern_verdicts_total',
    help: 'Judge evaluations, by judge and outcome.',
    labelNames: ['judge', 'outcome'] as const,
    registers,
  });
  return {
    observeTick(active, ended) {
      lastTick.set(Date.now() / 1000);
      status.reset();
      weight.reset();
      step.reset();
      for (const r of active) {
        status.labels(r.service, r.id, r.version, r.status).set(1);
        weight.labels(r.service, r.id).set(r.weight / 100);
        step.labels(r.service, r.id).set(r.stepIndex + 1);
      }
      for (const r of ended)
        if (isFinal(r.status) && r.endedAt !== null) duration.labels(r.status).observe((r.endedAt - r.startedAt) / 1000);
    },
    verdict(judge, outcome) {
      verdicts.labels(judge, outcome).inc();
    },
  };
}

/**
 * A step's hold while its evidence is missing: when a Prometheus-sourced release has
 * no usable data (a failing query, no series, a stale source), the step neither advances, nor
 * promotes, nor fails — its hold clock stops, the release's reason says "no data from
 * Prometheus: …" (audited as `release.no-data` when it changes), and once data returns the
 * step resumes (`release.data-resumed`) with the time spent without data added back to its
 * hold. Like the data planes' wait (apply-wait.ts), missing data is never a failure.
 *
 * The time without data is kept by this controller (per release and step); a controller that
 * takes over mid-outage counts its hold from the step's start, minus nothing it did not see.
 */
import { holdStart } from '../core/data-plane.js';
import type { Release } from '../core/types.js';
import type { Move } from './move.js';
import type { PrometheusEvidence } from './prometheus-evidence.js';

/**
 * Null while the step holds for data; else the milliseconds of this step spent without data
 * (to add to its hold).
 */
export type EvidenceHold = (release: Release, now: number) => Promise<number | null>;

interface StepPause {
  readonly step: string;
  /** When the current outage began; null while data flows. */
  readonly since: number | null;
  /** Outages of this step that ended. */
  readonly totalMs: number;
}

/** Creates the hold over the Prometheus sources and the mover. */
export function createEvidenceHold(evidence: PrometheusEvidence, move: Move): EvidenceHold {
  const pauses = new Map<string, StepPause>();
  return async (release, now) => {
    const step = `${release.stepIndex}@${holdStart(release)}`;
    const known = pauses.get(release.id);
    const p = known?.step === step ? known : { step, since: null, totalMs: 0 };
    const reason = evidence.noData(release, now);
    if (reason !== null) {
      pauses.set(release.id, { ...p, since: p.since ?? now });
      if (release.reason !== reason)
        await move(release, 'release.no-data', reason, (r) => ({ ...r, reason }), { stepIndex: release.stepIndex, cause: reason });
      return null;
    }
    if (p.since !== null) {
      const pausedMs = now - p.since;
      const resumed = `data from Prometheus again after ${Math.round(pausedMs / 1000)} s; the step's hold resumes`;
      pauses.set(release.id, { step, since: null, totalMs: p.totalMs + pausedMs });
      await move(release, 'release.data-resumed', resumed, (r) => ({ ...r, reason: resumed }), { stepIndex: release.stepIndex, pausedMs });
      return p.totalMs + pausedMs;
    }
    pauses.set(release.id, p);
    return p.totalMs;
  };
}

/** The release as the step clock sees it: its hold started `pausedMs` later. */
export function withHoldPaused(release: Release, pausedMs: number): Release {
  return pausedMs <= 0 ? release : { ...release, stepAppliedAt: holdStart(release) + pausedMs };
}

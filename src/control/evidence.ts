/**
 * Turns the store's metric windows (one row per release, version and second, already merged
 * across gateways) into the judges' aligned evidence for the current step.
 */
import type { ArmWindow, EvidenceWindow } from '../analysis/evidence.js';
import { EMPTY_ARM } from '../analysis/evidence.js';
import { holdStart } from '../core/data-plane.js';
import type { MetricWindow, Release } from '../core/types.js';

/**
 * One version's window for the judges: the requests the version itself handled (the gateway's
 * own failures are neither its errors nor its requests) and its heavy error users when the
 * data plane reported any.
 */
export function arm(w: MetricWindow): ArmWindow {
  const base = {
    requests: Math.max(0, w.requests - (w.gatewayErrors ?? 0)),
    errors: w.errors,
    latency: w.latency,
    feedbackSum: w.feedbackSum,
    feedbackCount: w.feedbackCount,
  };
  return w.errorUsers === undefined ? base : { ...base, errorUsers: w.errorUsers };
}

/**
 * Aligns windows by start time; stable is the release's baseline version, canary its version.
 * Windows before the step's weight was applied (its hold start), and windows of other versions, are left out.
 */
export function stepEvidence(release: Release, windows: readonly MetricWindow[]): EvidenceWindow[] {
  const byStart = new Map<number, { stable: ArmWindow; canary: ArmWindow }>();
  const from = holdStart(release);
  for (const w of windows) {
    if (w.windowStart < from) continue;
    const side = w.version === release.version ? 'canary' : w.version === release.baseline.version ? 'stable' : null;
    if (!side) continue;
    const entry = byStart.get(w.windowStart) ?? { stable: EMPTY_ARM, canary: EMPTY_ARM };
    entry[side] = arm(w);
    byStart.set(w.windowStart, entry);
  }
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([start, e]) => ({ start, ...e }));
}

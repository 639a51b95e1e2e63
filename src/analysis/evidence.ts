/**
 * Evidence handed to the judges: one step's per-window aggregates for both versions, aligned
 * by window start. Pure data; the controller builds it from the store's metric windows.
 */
import { mergeInto, type LatencyHistogram } from '../core/latency-histogram.js';

export interface ArmWindow {
  readonly requests: number;
  readonly errors: number;
  readonly latency: Readonly<LatencyHistogram>;
  readonly feedbackSum: number;
  readonly feedbackCount: number;
}

export interface EvidenceWindow {
  readonly start: number;
  readonly stable: ArmWindow;
  readonly canary: ArmWindow;
}

export interface Evidence {
  /** Windows of the current step, oldest first. */
  readonly windows: readonly EvidenceWindow[];
  readonly stepStartedAt: number;
  readonly now: number;
}

export const EMPTY_ARM: ArmWindow = { requests: 0, errors: 0, latency: {}, feedbackSum: 0, feedbackCount: 0 };

/** Sums arms over windows (latency histograms merged). */
export function totalArm(windows: readonly EvidenceWindow[], arm: 'stable' | 'canary'): ArmWindow {
  const latency: LatencyHistogram = {};
  let requests = 0;
  let errors = 0;
  let feedbackSum = 0;
  let feedbackCount = 0;
  for (const w of windows) {
    const a = w[arm];
    requests += a.requests;
    errors += a.errors;
    feedbackSum += a.feedbackSum;
    feedbackCount += a.feedbackCount;
    mergeInto(latency, a.latency);
  }
  return { requests, errors, latency, feedbackSum, feedbackCount };
}

/** Groups windows into consecutive intervals of `intervalMs` (aligned to the first window). */
export function intervals(windows: readonly EvidenceWindow[], intervalMs: number): EvidenceWindow[][] {
  const groups: EvidenceWindow[][] = [];
  const first = windows[0]?.start ?? 0;
  for (const w of windows) {
    const i = Math.floor((w.start - first) / intervalMs);
    (groups[i] ??= []).push(w);
  }
  return groups.filter((g) => g !== undefined);
}

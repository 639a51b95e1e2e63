/**
 * Evidence handed to the judges: one step's per-window aggregates for both versions, aligned
 * by window start. Pure data; the controller builds it from the store's metric windows.
 */
import type { LatencyHistogram } from '../core/latency-histogram.js';

export interface ArmWindow {
  readonly requests: number;
  readonly errors: number;
  readonly latency: Readonly<LatencyHistogram>;
  readonly feedbackSum: number;
  readonly feedbackCount: number;
  /**
   * The users who got the most errors in this window (a hash of the user key → their errors),
   * at most a handful per window, as the data plane reported them; absent when it reports none.
   * Lets a judge keep one heavy sticky user from deciding a release alone.
   */
  readonly errorUsers?: Readonly<Record<string, number>>;
}

export interface EvidenceWindow {
  readonly start: number;
  readonly stable: ArmWindow;
  readonly canary: ArmWindow;
}

/** When the judge looks: now, when the step began, and how long the step holds. */
export interface Timing {
  readonly now: number;
  readonly stepStartedAt: number;
  readonly holdMs: number;
  /**
   * The latency histogram's resolution when the source is bucketed (Prometheus `le` bounds, ms,
   * ascending; each bucket's requests recorded at its upper bound): the latency checks then claim
   * no precision finer than a bucket. Empty: the source has no latency at all. Absent: the
   * gateway's 1% histogram.
   */
  readonly latencyBounds?: readonly number[];
}

export interface Evidence extends Timing {
  /** Windows of the current step, oldest first. */
  readonly windows: readonly EvidenceWindow[];
  /** When the canary first had traffic in the release (warm-up counts from it); else the step's first canary window. */
  readonly firstCanaryAt?: number | null;
}

export const EMPTY_ARM: ArmWindow = { requests: 0, errors: 0, latency: {}, feedbackSum: 0, feedbackCount: 0 };

/**
 * Running aggregates of one step's evidence, so judging every second costs O(grid + buckets)
 * instead of re-reading the whole step: the count e-process state, each version's totals and
 * merged latency histogram, and per-interval totals for the interval-based judges.
 * Windows must be added oldest first and each only once; `clone()` lets a caller add windows
 * that may still grow (late gateway pushes) to a throwaway copy.
 */
import { mergeInto } from '../core/latency-histogram.js';
import { addCountWindowInPlace, copyCountState, emptyCountState, type CountState } from './count-eprocess.js';
import type { ArmWindow, EvidenceWindow } from './evidence.js';

type Arm = { requests: number; errors: number; latency: Record<string, number>; feedbackSum: number; feedbackCount: number };

export interface IntervalTotals {
  readonly start: number;
  readonly stable: ArmWindow;
  readonly canary: ArmWindow;
}

export interface Aggregates {
  readonly count: CountState;
  readonly stable: ArmWindow;
  readonly canary: ArmWindow;
  /** Per-interval totals, oldest first, aligned to the step's start. */
  readonly intervals: readonly IntervalTotals[];
  readonly windowFrom: number | null;
  readonly windowTo: number | null;
}

const emptyArm = (): Arm => ({ requests: 0, errors: 0, latency: {}, feedbackSum: 0, feedbackCount: 0 });

function addArm(into: Arm, from: ArmWindow): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.feedbackSum += from.feedbackSum;
  into.feedbackCount += from.feedbackCount;
  mergeInto(into.latency, from.latency);
}

function copyArm(a: Arm): Arm {
  return { ...a, latency: { ...a.latency } };
}

export class EvidenceAccumulator {
  readonly #intervalMs: number;
  readonly #origin: number;
  #count: CountState = emptyCountState();
  #stable = emptyArm();
  #canary = emptyArm();
  #intervals = new Map<number, { stable: Arm; canary: Arm }>();
  #from: number | null = null;
  #to: number | null = null;

  /** `origin` aligns intervals (the step's start); `intervalMs` is the judge's interval. */
  constructor(intervalMs: number, origin: number) {
    this.#intervalMs = intervalMs;
    this.#origin = origin;
  }

  /** The start of the newest window added, or null. */
  get lastWindow(): number | null {
    return this.#to;
  }

  add(w: EvidenceWindow): void {
    addCountWindowInPlace(this.#count, { canaryRequests: w.canary.requests, canaryErrors: w.canary.errors, stableRequests: w.stable.requests, stableErrors: w.stable.errors });
    addArm(this.#stable, w.stable);
    addArm(this.#canary, w.canary);
    const start = this.#origin + Math.floor((w.start - this.#origin) / this.#intervalMs) * this.#intervalMs;
    let interval = this.#intervals.get(start);
    if (!interval) this.#intervals.set(start, (interval = { stable: emptyArm(), canary: emptyArm() }));
    addArm(interval.stable, w.stable);
    addArm(interval.canary, w.canary);
    this.#from ??= w.start;
    this.#to = w.start;
  }

  clone(): EvidenceAccumulator {
    const c = new EvidenceAccumulator(this.#intervalMs, this.#origin);
    c.#count = copyCountState(this.#count);
    c.#stable = copyArm(this.#stable);
    c.#canary = copyArm(this.#canary);
    for (const [k, v] of this.#intervals) c.#intervals.set(k, { stable: copyArm(v.stable), canary: copyArm(v.canary) });
    c.#from = this.#from;
    c.#to = this.#to;
    return c;
  }

  /** A read-only view of the aggregates (valid until the next `add`). */
  snapshot(): Aggregates {
    return {
      count: this.#count,
      stable: this.#stable,
      canary: this.#canary,
      intervals: [...this.#intervals.entries()].sort((a, b) => a[0] - b[0]).map(([start, v]) => ({ start, ...v })),
      windowFrom: this.#from,
      windowTo: this.#to,
    };
  }
}

/** Aggregates a whole list of windows at once. */
export function aggregate(windows: readonly EvidenceWindow[], intervalMs: number, origin: number): Aggregates {
  const acc = new EvidenceAccumulator(intervalMs, origin);
  for (const w of windows) acc.add(w);
  return acc.snapshot();
}

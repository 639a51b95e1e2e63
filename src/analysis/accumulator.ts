/**
 * Running aggregates of one step's evidence, so judging every second costs O(grid + buckets)
 * instead of re-reading the whole step: the count e-process state, each version's totals and
 * merged latency histogram, and per-interval totals for the interval-based judges.
 *
 * Two rules of docs/analysis.md live here because they decide which evidence a judge sees:
 * - warm-up: windows before `latencyFrom` (the canary's first traffic + the warm-up) are not
 *   compared for latency — `compared` holds both versions' latency from then on — while errors
 *   and ceilings count every window;
 * - heavy users: the canary's errors per user (the data plane's top error users per window) are
 *   summed over the step; when one user holds a large share of them, the error evidence is also
 *   kept without that user (`withoutHeavy`), so a judge can refuse to fail a release on one
 *   sticky user alone.
 * Windows must be added oldest first and each only once; `clone()` lets a caller add windows
 * that may still grow (late gateway pushes) to a throwaway copy.
 */
import { mergeInto, type LatencyHistogram } from '../core/latency-histogram.js';
import { addCountWindowInPlace, copyCountState, emptyCountState, type CountState, type CountWindow } from './count-eprocess.js';
import type { ArmWindow, EvidenceWindow } from './evidence.js';

type Arm = { requests: number; errors: number; latency: Record<string, number>; feedbackSum: number; feedbackCount: number };

export interface IntervalTotals {
  readonly start: number;
  readonly stable: ArmWindow;
  readonly canary: ArmWindow;
}

/** The canary's error evidence without its heaviest error user. */
export interface WithoutHeavy {
  /** Hash of the user key, as the data plane reported it. */
  readonly user: string;
  /** That user's canary errors in the step. */
  readonly errors: number;
  readonly count: CountState;
  readonly canary: { readonly requests: number; readonly errors: number };
}

export interface Aggregates {
  readonly count: CountState;
  readonly stable: ArmWindow;
  readonly canary: ArmWindow;
  /** Latency compared between the versions: windows from `from` on (after the canary's warm-up). */
  readonly compared: {
    readonly stable: Readonly<LatencyHistogram>;
    readonly canary: Readonly<LatencyHistogram>;
    readonly from: number | null;
  };
  /** Set when one user holds a heavy share of the canary's errors (see HEAVY_SHARE). */
  readonly withoutHeavy: WithoutHeavy | null;
  /** Per-interval totals, oldest first, aligned to the step's start. */
  readonly intervals: readonly IntervalTotals[];
  readonly windowFrom: number | null;
  readonly windowTo: number | null;
}

/**
 * A user is heavy when they hold at least this share of the canary's errors in the step (and
 * at least HEAVY_MIN_ERRORS): a regression that hits many users never has one, a poison request
 * sent by one bot or batch client does.
 */
export const HEAVY_SHARE = 0.1;
export const HEAVY_MIN_ERRORS = 3;

export interface AccumulatorOptions {
  /** The judge's interval (per-interval totals). */
  readonly intervalMs: number;
  /** Aligns intervals: the step's start. */
  readonly origin: number;
  /** Latency is compared only this long after the canary's first traffic. Default 0. */
  readonly warmupMs?: number;
  /** When the canary first had traffic in this release, if known (else the first window of this step with canary traffic). */
  readonly firstCanaryAt?: number | null;
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

interface CountRow extends CountWindow {
  readonly users: Readonly<Record<string, number>> | undefined;
}

/** The window's counts with `user`'s canary errors (and as many requests) taken out. */
function without(row: CountRow, user: string): CountWindow {
  const e = Math.min(row.users?.[user] ?? 0, row.canaryErrors);
  return e === 0 ? row : { ...row, canaryErrors: row.canaryErrors - e, canaryRequests: row.canaryRequests - e };
}

export class EvidenceAccumulator {
  readonly #intervalMs: number;
  readonly #origin: number;
  readonly #warmupMs: number;
  #firstCanaryAt: number | null;
  #count: CountState = emptyCountState();
  #stable = emptyArm();
  #canary = emptyArm();
  #compared = { stable: {} as Record<string, number>, canary: {} as Record<string, number>, from: null as number | null };
  #intervals = new Map<number, { stable: Arm; canary: Arm }>();
  #rows: CountRow[] = [];
  #userErrors = new Map<string, number>();
  #top: { readonly user: string; readonly errors: number } | null = null;
  /** The count state without `user`, kept up to date while the heaviest user stays the same. */
  #heavy: { user: string; count: CountState; requests: number; errors: number } | null = null;
  #from: number | null = null;
  #to: number | null = null;

  constructor(options: AccumulatorOptions);
  /** Short form: intervals only, no warm-up. */
  constructor(intervalMs: number, origin: number);
  constructor(a: AccumulatorOptions | number, origin = 0) {
    const o: AccumulatorOptions = typeof a === 'number' ? { intervalMs: a, origin } : a;
    this.#intervalMs = o.intervalMs;
    this.#origin = o.origin;
    this.#warmupMs = o.warmupMs ?? 0;
    this.#firstCanaryAt = o.firstCanaryAt ?? null;
  }

  /** The start of the newest window added, or null. */
  get lastWindow(): number | null {
    return this.#to;
  }

  /** When the canary first had traffic (as given, or as seen in this step's windows). */
  get firstCanaryAt(): number | null {
    return this.#firstCanaryAt;
  }

  add(w: EvidenceWindow): void {
    const row: CountRow = {
      canaryRequests: w.canary.requests,
      canaryErrors: w.canary.errors,
      stableRequests: w.stable.requests,
      stableErrors: w.stable.errors,
      users: w.canary.errorUsers,
    };
    addCountWindowInPlace(this.#count, row);
    addArm(this.#stable, w.stable);
    addArm(this.#canary, w.canary);
    if (this.#firstCanaryAt === null && w.canary.requests > 0) this.#firstCanaryAt = w.start;
    if (this.#firstCanaryAt !== null && w.start >= this.#firstCanaryAt + this.#warmupMs) {
      mergeInto(this.#compared.stable, w.stable.latency);
      mergeInto(this.#compared.canary, w.canary.latency);
      this.#compared.from ??= w.start;
    }
    const start = this.#origin + Math.floor((w.start - this.#origin) / this.#intervalMs) * this.#intervalMs;
    let interval = this.#intervals.get(start);
    if (!interval) this.#intervals.set(start, (interval = { stable: emptyArm(), canary: emptyArm() }));
    addArm(interval.stable, w.stable);
    addArm(interval.canary, w.canary);
    this.#from ??= w.start;
    this.#to = w.start;
    this.#addUsers(row);
  }

  /** Sums the canary's errors per user and keeps the evidence without the heaviest one current. */
  #addUsers(row: CountRow): void {
    if (row.users) {
      for (const [user, errors] of Object.entries(row.users)) {
        const total = (this.#userErrors.get(user) ?? 0) + errors;
        this.#userErrors.set(user, total);
        // Totals only grow, so the most-erring user is kept without rescanning every user.
        if (this.#top === null || total > this.#top.errors || this.#top.user === user) this.#top = { user, errors: total };
      }
    }
    this.#rows.push(row);
    const top = this.#heaviest();
    if (top === null) {
      this.#heavy = null;
    } else if (this.#heavy?.user === top) {
      const w = without(row, top);
      addCountWindowInPlace(this.#heavy.count, w);
      this.#heavy.requests += w.canaryRequests;
      this.#heavy.errors += w.canaryErrors;
    } else {
      // A new heaviest user: rebuild from the step's windows (rare: a heavy user stays heavy).
      const heavy = { user: top, count: emptyCountState(), requests: 0, errors: 0 };
      for (const r of this.#rows) {
        const w = without(r, top);
        addCountWindowInPlace(heavy.count, w);
        heavy.requests += w.canaryRequests;
        heavy.errors += w.canaryErrors;
      }
      this.#heavy = heavy;
    }
  }

  #heaviest(): string | null {
    const t = this.#top;
    return t !== null && t.errors >= HEAVY_MIN_ERRORS && t.errors >= HEAVY_SHARE * this.#canary.errors ? t.user : null;
  }

  clone(): EvidenceAccumulator {
    const c = new EvidenceAccumulator({
      intervalMs: this.#intervalMs,
      origin: this.#origin,
      warmupMs: this.#warmupMs,
      firstCanaryAt: this.#firstCanaryAt,
    });
    c.#count = copyCountState(this.#count);
    c.#stable = copyArm(this.#stable);
    c.#canary = copyArm(this.#canary);
    c.#compared = { stable: { ...this.#compared.stable }, canary: { ...this.#compared.canary }, from: this.#compared.from };
    for (const [k, v] of this.#intervals) c.#intervals.set(k, { stable: copyArm(v.stable), canary: copyArm(v.canary) });
    c.#rows = [...this.#rows];
    c.#userErrors = new Map(this.#userErrors);
    c.#top = this.#top;
    c.#heavy = this.#heavy && { ...this.#heavy, count: copyCountState(this.#heavy.count) };
    c.#from = this.#from;
    c.#to = this.#to;
    return c;
  }

  /** A read-only view of the aggregates (valid until the next `add`). */
  snapshot(): Aggregates {
    const h = this.#heaviest() === null ? null : this.#heavy;
    return {
      count: this.#count,
      stable: this.#stable,
      canary: this.#canary,
      compared: this.#compared,
      withoutHeavy: h && {
        user: h.user,
        errors: this.#userErrors.get(h.user) ?? 0,
        count: h.count,
        canary: { requests: h.requests, errors: h.errors },
      },
      intervals: [...this.#intervals.entries()].sort((a, b) => a[0] - b[0]).map(([start, v]) => ({ start, ...v })),
      windowFrom: this.#from,
      windowTo: this.#to,
    };
  }
}

/** Aggregates a whole list of windows at once. */
export function aggregate(windows: readonly EvidenceWindow[], options: AccumulatorOptions): Aggregates {
  const acc = new EvidenceAccumulator(options);
  for (const w of windows) acc.add(w);
  return acc.snapshot();
}

/**
 * Seeded traffic simulation for the judges' statistical tests and the detection benchmark:
 * per-second request and error counts and log-normal latencies for stable and canary.
 */
import { record, type LatencyHistogram } from '../core/latency-histogram.js';

/** Mulberry32: a small, fast, seedable PRNG (repeatable test runs). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Poisson sample: Knuth's method for small means, a rounded normal approximation for large ones. */
export function poisson(rand: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rand)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

/** Binomial sample via Poisson when p is small (error rates), else by summation of a normal approximation. */
export function binomial(rand: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p < 0.1) return Math.min(n, poisson(rand, n * p));
  const mean = n * p;
  return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * normal(rand))));
}

export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() || Number.MIN_VALUE)) * Math.cos(2 * Math.PI * rand());
}

export interface ArmSpec {
  readonly errorRate: number;
  /** Log-normal latency: median in ms and σ of the log. */
  readonly medianMs: number;
  readonly sigma: number;
  /** A fixed latency added to every request (a different process, host or code path). */
  readonly offsetMs?: number;
}

export interface SimulatedArm {
  requests: number;
  errors: number;
  latency: LatencyHistogram;
  /** Errors per (hashed) user, as a data plane reports its top error users. */
  errorUsers?: Record<string, number>;
}

export interface SimulatedSecond {
  readonly stable: SimulatedArm;
  readonly canary: SimulatedArm;
}

/** One heavy user: a share of all requests, sticky to one version, failing at `errorRate` on either. */
export interface HeavyUser {
  readonly share: number;
  readonly errorRate: number;
  readonly side: 'stable' | 'canary';
}

/** One second of traffic at `rps` with the canary receiving `share` (0..1) of it (and `heavy`'s requests on its side). */
export function simulateSecond(
  rand: () => number,
  rps: number,
  share: number,
  stable: ArmSpec,
  canary: ArmSpec,
  latencySamples = true,
  heavy?: HeavyUser,
): SimulatedSecond {
  const arm = (spec: ArmSpec, mean: number): SimulatedArm => {
    const requests = poisson(rand, mean);
    const latency: LatencyHistogram = {};
    const offset = spec.offsetMs ?? 0;
    if (latencySamples) for (let i = 0; i < requests; i++) record(latency, offset + spec.medianMs * Math.exp(spec.sigma * normal(rand)));
    const errors = binomial(rand, requests, spec.errorRate);
    // Ordinary errors come from many users: one each (what a data plane's top-users list would show).
    const errorUsers: Record<string, number> = {};
    for (let i = 0; i < Math.min(errors, 8); i++) errorUsers[Math.floor(rand() * 0xffffffff).toString(16)] = 1;
    return { requests, errors, latency, errorUsers };
  };
  const others = heavy ? rps * (1 - heavy.share) : rps;
  const out = { stable: arm(stable, others * (1 - share)), canary: arm(canary, others * share) };
  if (heavy) {
    const a = out[heavy.side];
    const spec = heavy.side === 'stable' ? stable : canary;
    const n = poisson(rand, rps * heavy.share);
    const e = binomial(rand, n, heavy.errorRate);
    if (latencySamples)
      for (let i = 0; i < n; i++) record(a.latency, (spec.offsetMs ?? 0) + spec.medianMs * Math.exp(spec.sigma * normal(rand)));
    a.requests += n;
    a.errors += e;
    if (e > 0) a.errorUsers = { ...a.errorUsers, heavy0001: e };
  }
  return out;
}

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
}

export interface SimulatedSecond {
  readonly stable: { requests: number; errors: number; latency: LatencyHistogram };
  readonly canary: { requests: number; errors: number; latency: LatencyHistogram };
}

/** One second of traffic at `rps` with the canary receiving `share` (0..1) of it. */
export function simulateSecond(rand: () => number, rps: number, share: number, stable: ArmSpec, canary: ArmSpec, latencySamples = true): SimulatedSecond {
  const arm = (spec: ArmSpec, mean: number) => {
    const requests = poisson(rand, mean);
    const latency: LatencyHistogram = {};
    if (latencySamples) for (let i = 0; i < requests; i++) record(latency, spec.medianMs * Math.exp(spec.sigma * normal(rand)));
    return { requests, errors: binomial(rand, requests, spec.errorRate), latency };
  };
  return { stable: arm(stable, rps * (1 - share)), canary: arm(canary, rps * share) };
}

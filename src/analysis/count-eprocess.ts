/**
 * Anytime-valid comparison of error counts between canary and stable.
 *
 * Model (after Lindon & Malek, "Anytime-valid inference for multinomial count data", NeurIPS
 * 2022): errors of each version are Poisson/Bernoulli processes; conditional on the errors
 * seen in one window, the canary's share of them is Binomial(x_T + x_C, p) with
 * p(ψ) = ψ·n_T / (ψ·n_T + n_C), where n are the window's requests per version and ψ is the
 * ratio of per-request error rates (canary / stable). Conditioning on each window's own
 * exposure makes the test sound when the traffic split changes between steps — the concern the
 * blockwise 2×2 e-process of Turner, Ly & Grünwald addresses the same way.
 *
 * The e-process against the composite null "ψ ≤ ψ0" is a one-sided mixture, over a fixed
 * log-spaced grid of ψ above ψ0, of likelihood ratios Π_j L_j(ψ)/L_j(ψ0): a non-negative
 * supermartingale under every ψ ≤ ψ0, so by Ville's inequality it exceeds 1/α with probability
 * at most α at any time, however often it is looked at. Inverting the one-sided tests at every
 * grid point gives anytime-valid bounds on ψ (`ratioBounds`).
 *
 * State is O(grid) numbers and each window updates it in O(grid): cheap enough to run every second.
 */

/** Grid of rate ratios ψ, log-spaced from 1/32 to 64, with 1 and common tolerances on it. */
function buildGrid(): number[] {
  const points = new Set<number>();
  for (let i = -40; i <= 48; i++) points.add(Number(Math.pow(2, i / 8).toFixed(6)));
  for (const extra of [1.1, 1.2, 1.25, 1.5, 2, 3, 5]) points.add(extra);
  return [...points].sort((a, b) => a - b);
}

export const PSI_GRID: readonly number[] = buildGrid();

export interface CountState {
  /** Σ_j log L_j(ψ_g) for every grid point. */
  readonly logLik: Float64Array;
  readonly canaryErrors: number;
  readonly stableErrors: number;
  readonly canaryRequests: number;
  readonly stableRequests: number;
}

export interface CountWindow {
  readonly canaryRequests: number;
  readonly canaryErrors: number;
  readonly stableRequests: number;
  readonly stableErrors: number;
}

export function emptyCountState(): CountState {
  return { logLik: new Float64Array(PSI_GRID.length), canaryErrors: 0, stableErrors: 0, canaryRequests: 0, stableRequests: 0 };
}

/** Adds one window of evidence; returns a new state (the input is not changed). */
export function addCountWindow(state: CountState, w: CountWindow): CountState {
  const next = copyCountState(state);
  addCountWindowInPlace(next, w);
  return next;
}

export function copyCountState(state: CountState): CountState {
  return { ...state, logLik: Float64Array.from(state.logLik) };
}

/** Adds one window of evidence to `state` itself (the accumulator's hot path: no allocation). */
export function addCountWindowInPlace(state: CountState, w: CountWindow): void {
  const errors = w.canaryErrors + w.stableErrors;
  // A window with no errors, or where one version had no traffic, carries no information about ψ.
  if (errors > 0 && w.canaryRequests > 0 && w.stableRequests > 0) {
    for (let g = 0; g < PSI_GRID.length; g++) {
      const psi = PSI_GRID[g]!;
      const p = (psi * w.canaryRequests) / (psi * w.canaryRequests + w.stableRequests);
      state.logLik[g]! += w.canaryErrors * Math.log(p) + w.stableErrors * Math.log1p(-p);
    }
  }
  const s = state as { -readonly [K in keyof CountState]: CountState[K] };
  s.canaryErrors += w.canaryErrors;
  s.stableErrors += w.stableErrors;
  s.canaryRequests += w.canaryRequests;
  s.stableRequests += w.stableRequests;
}

/** The index of the smallest grid point ≥ ψ (the last point when ψ is beyond the grid). */
export function gridCeil(psi: number): number {
  const i = PSI_GRID.findIndex((g) => g >= psi - 1e-9);
  return i === -1 ? PSI_GRID.length - 1 : i;
}

/**
 * log e-value against the composite null "ψ ≤ PSI_GRID[h]": a uniform mixture over the grid
 * points above h of Π_j L_j(ψ)/L_j(ψ_h). For one window, E_ψ'[L(ψ)/L(ψ_h)] = (p'p/p_h +
 * (1−p')(1−p)/(1−p_h))^n ≤ 1 whenever p' ≤ p_h < p (it is 1 at p' = p_h and rises with p'),
 * so under every ψ' ≤ ψ_h the product is a non-negative supermartingale and Ville's inequality
 * holds; all the mixture's weight sits where a regression lies, none is spent on ψ < ψ_h.
 */
export function logEValueAbove(state: CountState, h: number): number {
  return logMixture(state, h, h + 1, Math.min(PSI_GRID.length, h + 1 + MIXTURE_SPAN));
}

/** The mirror image: log e-value against "ψ ≥ PSI_GRID[h]", mixing over the grid points below h. */
export function logEValueBelow(state: CountState, h: number): number {
  return logMixture(state, h, Math.max(0, h - MIXTURE_SPAN), h);
}

/**
 * How far the one-sided mixtures reach: 24 grid points (3 octaves: up to 8× the null). Weight
 * spread over ratios no regression has only dilutes the evidence; a canary worse than 8× the
 * null is still caught, just with the evidence of an 8× alternative.
 */
const MIXTURE_SPAN = 24;

function logMixture(state: CountState, h: number, from: number, to: number): number {
  if (to <= from) return Number.NEGATIVE_INFINITY;
  const base = state.logLik[h]!;
  let max = Number.NEGATIVE_INFINITY;
  for (let g = from; g < to; g++) max = Math.max(max, state.logLik[g]! - base);
  let sum = 0;
  for (let g = from; g < to; g++) sum += Math.exp(state.logLik[g]! - base - max);
  return max + Math.log(sum / (to - from));
}

/**
 * Anytime-valid bounds on ψ from the one-sided tests: `lower` is the largest grid point such that
 * "ψ ≤ g" is rejected at level α for it and every grid point below it, so ψ > lower at every
 * time with probability ≥ 1 − α (the test at the grid point just above the true ψ never rejects
 * with that probability); `upper` likewise from above. 0 and Infinity when nothing is rejected.
 */
export function ratioBounds(state: CountState, alpha: number): { lower: number; upper: number } {
  const threshold = Math.log(1 / alpha);
  let lo = -1;
  while (lo + 1 < PSI_GRID.length && logEValueAbove(state, lo + 1) >= threshold) lo++;
  let hi = PSI_GRID.length;
  while (hi - 1 >= 0 && logEValueBelow(state, hi - 1) >= threshold) hi--;
  return { lower: lo < 0 ? 0 : PSI_GRID[lo]!, upper: hi >= PSI_GRID.length ? Number.POSITIVE_INFINITY : PSI_GRID[hi]! };
}

/** Maximum-likelihood ψ on the grid, null before any informative window. */
export function ratioEstimate(state: CountState): number | null {
  let best = 0;
  for (let h = 1; h < PSI_GRID.length; h++) if (state.logLik[h]! > state.logLik[best]!) best = h;
  return state.logLik.some((l) => l !== 0) ? PSI_GRID[best]! : null;
}

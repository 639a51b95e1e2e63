/**
 * Anytime-valid bounds on one version's per-request error rate (for the absolute ceiling),
 * from the beta-binomial mixture martingale with a uniform Beta(1,1) prior (Robbins 1970;
 * Howard et al. 2021 §3): the set {p : B(1+x, 1+n−x) / (p^x (1−p)^(n−x)) < 1/α} contains the
 * true rate at every n with probability ≥ 1−α.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/**
 * ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, n = 9; ~15 significant digits).
 * Hand-written: JavaScript has no lgamma and this is the only special function Tern needs.
 */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

function logMixtureRatio(x: number, n: number, p: number): number {
  const logLik = (x > 0 ? x * Math.log(p) : 0) + (n - x > 0 ? (n - x) * Math.log1p(-p) : 0);
  return logBeta(1 + x, 1 + n - x) - logLik;
}

/** The (1−α) anytime-valid interval for a rate with `x` errors in `n` requests. */
export function rateInterval(x: number, n: number, alpha: number): { lower: number; upper: number } {
  if (n <= 0) return { lower: 0, upper: 1 };
  const threshold = Math.log(1 / alpha);
  const mle = x / n;
  const inside = (p: number) => logMixtureRatio(x, n, p) < threshold;
  // The ratio is convex in log-odds around the MLE, so bisection on each side finds the edges.
  const edge = (from: number, to: number): number => {
    if (inside(to)) return to;
    let a = from;
    let b = to;
    for (let i = 0; i < 60; i++) {
      const m = (a + b) / 2;
      if (inside(m)) a = m;
      else b = m;
    }
    return a;
  };
  const centre = Math.min(Math.max(mle, 1e-12), 1 - 1e-12);
  return { lower: x === 0 ? 0 : edge(centre, 1e-12), upper: x === n ? 1 : edge(centre, 1 - 1e-12) };
}

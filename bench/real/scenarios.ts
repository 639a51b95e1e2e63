/**
 * The scenarios of bench/real/real-releases.ts: how the stable and the canary backend behave
 * (bench/real/backend.mjs options), and what a trustworthy judge should do with the release.
 */

/** What one backend process does (see backend.mjs). */
export interface BackendShape {
  /** Mean service time; 0 answers at once (a sub-millisecond service). */
  readonly delayMs: number;
  readonly errorRate?: number;
  readonly extraMs?: number;
  readonly extraPct?: number;
  readonly warmupMs?: number;
  readonly warmupFactor?: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly stable: BackendShape;
  readonly canary: BackendShape;
  /** What should happen to every release: A/A promotes, a real regression rolls back. */
  readonly expect: 'promote' | 'rollback';
  /** Releases run when --releases is not given. */
  readonly releases: number;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'aa-fast',
    description: 'A/A, sub-millisecond service (answers at once), no errors',
    stable: { delayMs: 0 },
    canary: { delayMs: 0 },
    expect: 'promote',
    releases: 30,
  },
  {
    name: 'aa-5ms',
    description: 'A/A, 5 ms service (uniform 2.5–7.5 ms), no errors',
    stable: { delayMs: 5 },
    canary: { delayMs: 5 },
    expect: 'promote',
    releases: 30,
  },
  {
    name: 'bad-errors-3x',
    description: '5 ms service, stable 1% errors, canary 3%',
    stable: { delayMs: 5, errorRate: 0.01 },
    canary: { delayMs: 5, errorRate: 0.03 },
    expect: 'rollback',
    releases: 10,
  },
  {
    name: 'bad-latency-50pct',
    description: '5 ms service, canary 50% slower (+2.5 ms at the median)',
    stable: { delayMs: 5 },
    canary: { delayMs: 5, extraPct: 50 },
    expect: 'rollback',
    releases: 10,
  },
  {
    name: 'bad-latency-20ms',
    description: '5 ms service, canary 20 ms slower',
    stable: { delayMs: 5 },
    canary: { delayMs: 5, extraMs: 20 },
    expect: 'rollback',
    releases: 10,
  },
  {
    name: 'warmup-5ms',
    description: 'A/A, 5 ms service, the canary 3× slower for its first 10 s (not in "all")',
    stable: { delayMs: 5 },
    canary: { delayMs: 5, warmupMs: 10_000, warmupFactor: 3 },
    expect: 'promote',
    releases: 30,
  },
];

/** The scenarios `--scenario all` runs. */
export const ALL = ['aa-fast', 'aa-5ms', 'bad-errors-3x', 'bad-latency-50pct', 'bad-latency-20ms'] as const;

/** backend.mjs arguments for `shape`. */
export function backendArgs(shape: BackendShape, version: string): string[] {
  return [
    '--version',
    version,
    '--delay-ms',
    String(shape.delayMs),
    '--error-rate',
    String(shape.errorRate ?? 0),
    '--extra-ms',
    String(shape.extraMs ?? 0),
    '--extra-pct',
    String(shape.extraPct ?? 0),
    '--warmup-ms',
    String(shape.warmupMs ?? 0),
    '--warmup-factor',
    String(shape.warmupFactor ?? 1),
  ];
}

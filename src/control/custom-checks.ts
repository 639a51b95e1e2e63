/**
 * Custom checks in the controller: reads each of a release's `analysis.checks` from
 * its Prometheus (the check's `url`, else the server's `--prometheus-url`) at most once per
 * check interval, and judges it (analysis/custom-judgement.ts). Between reads the last verdict
 * stands.
 *
 * Ratio checks read the step's windows afresh each time, from the step's hold start (when the
 * data planes applied its weight) to the newest closed window: each window's count is the exact
 * growth of the counter between its two boundaries (the last sample at or before each, as an
 * instant query sees it; a counter that went down was reset and counts its new value), so
 * re-reading never counts a request twice and the windows add up to the counter's own growth.
 *
 * Whatever cannot be read — Prometheus unreachable or refusing the query, a query returning
 * nothing, no sample at the newest boundary — makes the check inconclusive and insufficient
 * with "no data from Prometheus: …": the step holds, neither promoting nor rolling back for
 * it, and goes on once the data is back.
 */
import type { Logger } from 'pino';
import { judgeGauge, judgeRatio, unreadable, type GaugeLook, type RatioWindow } from '../analysis/custom-judgement.js';
import { DEFAULT_ALPHA } from '../analysis/judges/sequential.js';
import { combineChecks, type CheckVerdict, type JudgeResult } from '../analysis/verdict.js';
import type { CustomCheck, GaugeCheck, RatioCheck } from '../core/custom-checks.js';
import { holdStart } from '../core/data-plane.js';
import type { Release } from '../core/types.js';
import { forVersion } from '../providers/metrics/prometheus.js';
import { PrometheusQueryError, queryInstant, queryRange, type QuerySeries } from '../providers/metrics/prometheus-query.js';

export interface CustomChecksOptions {
  /** The default Prometheus (`tern server --prometheus-url`) for checks that name none. */
  readonly prometheusUrl?: string | undefined;
  /** Per-query timeout, ms. Default 5000. */
  readonly timeoutMs?: number;
  readonly logger?: Logger | undefined;
}

/** What reading a release's custom checks needs of it. */
export type CheckedRelease = Pick<Release, 'id' | 'version' | 'baseline' | 'stepIndex' | 'stepStartedAt' | 'stepAppliedAt' | 'analysis'>;

export interface CustomChecks {
  /** The verdicts of the release's custom checks for its current step ([] when it has none). */
  judge(release: CheckedRelease, now: number): Promise<CheckVerdict[]>;
  prune(keep: ReadonlySet<string>): void;
}

/** A range query may return at most 11,000 points per series; a longer step reads its newest windows. */
const MAX_WINDOWS = 10_000;
/** Gauge looks kept per check (the largest `evaluations` accepted). */
const MAX_LOOKS = 100;

interface CheckState {
  readAt: number;
  verdict: CheckVerdict;
  looks: GaugeLook[];
}

class NoData extends Error {}

/** One series of a query, or NoData saying what is missing. */
function single(series: readonly QuerySeries[], what: string, query: string, version: string): QuerySeries {
  if (series.length === 0) {
    const hint = what === 'events' ? ' (a counter with no events yet has no series: end the query with `or vector(0)`)' : '';
    throw new NoData(`no data from Prometheus: the ${what} query returned nothing for ${version} (${query})${hint}`);
  }
  if (series.length > 1)
    throw new NoData(`the ${what} query returned ${series.length} series for ${version}; expected one (aggregate it, e.g. sum(...))`);
  return series[0]!;
}

/** The values, or the first failure in list order. */
function inOrder<T>(results: readonly PromiseSettledResult<T>[]): T[] {
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Growth of a counter between two boundaries: a value that went down was reset, so it grew by its new value. */
function growth(start: number | undefined, end: number): number {
  const s = start ?? 0;
  return Math.max(0, Math.round(end >= s ? end - s : end));
}

/** Creates the custom-check reader. */
export function createCustomChecks(options: CustomChecksOptions = {}): CustomChecks {
  const timeoutMs = options.timeoutMs ?? 5000;
  /** Per release: the step key and each check's state. */
  const states = new Map<string, { key: string; checks: Map<string, CheckState> }>();

  async function readRatio(check: RatioCheck, url: string, release: CheckedRelease, now: number, alpha: number): Promise<CheckVerdict> {
    const origin = holdStart(release);
    const w = check.intervalMs;
    const last = origin + Math.floor((now - origin) / w) * w;
    if (last < origin + w) return unreadable(check, `waiting for the first ${w / 1000} s window of the step to close`, url);
    const from = Math.max(origin, last - MAX_WINDOWS * w);
    const read = async (what: 'events' | 'total', version: string): Promise<QuerySeries> => {
      const query = forVersion(check[what], version);
      const s = single(await queryRange(url, query, from, last, w, timeoutMs), what, query, version);
      if (!s.values.has(last))
        throw new NoData(`no data from Prometheus: no ${what} sample for ${version} at ${new Date(last).toISOString()} (${query})`);
      return s;
    };
    // Settled in a fixed order, so the reason names the same query every time (the canary's first).
    const [ce, ct, se, st] = inOrder<QuerySeries>(
      await Promise.allSettled([
        read('events', release.version),
        read('total', release.version),
        read('events', release.baseline.version),
        read('total', release.baseline.version),
      ]),
    ) as [QuerySeries, QuerySeries, QuerySeries, QuerySeries];
    // A boundary where some series has no sample joins its window to the next one, so the
    // windows still add up to each counter's whole growth.
    const windows: RatioWindow[] = [];
    let start = from;
    for (let end = from + w; end <= last; end += w) {
      const [a, b, c, d] = [ce, ct, se, st].map((s) => s.values.get(end));
      if (a === undefined || b === undefined || c === undefined || d === undefined) continue;
      windows.push({
        start,
        canary: { events: growth(ce.values.get(start), a), total: growth(ct.values.get(start), b) },
        stable: { events: growth(se.values.get(start), c), total: growth(st.values.get(start), d) },
      });
      start = end;
    }
    return judgeRatio(check, windows, { prometheus: url, alpha, minTotal: check.minTotal ?? release.analysis.minRequests });
  }

  async function readGauge(check: GaugeCheck, url: string, release: CheckedRelease, now: number, state: CheckState): Promise<CheckVerdict> {
    const value = async (version: string): Promise<number> => {
      const query = forVersion(check.query, version);
      const s = single(await queryInstant(url, query, now, timeoutMs), 'gauge', query, version);
      const v = [...s.values.values()][0];
      if (v === undefined) throw new NoData(`no data from Prometheus: the gauge query gave no number for ${version} (${query})`);
      return v;
    };
    const [canary, stable] = inOrder<number | null>(
      await Promise.allSettled([
        value(release.version),
        check.tolerance === null ? Promise.resolve(null) : value(release.baseline.version),
      ]),
    ) as [number, number | null];
    state.looks.push({ at: now, canary, stable });
    if (state.looks.length > MAX_LOOKS) state.looks.shift();
    return judgeGauge(check, state.looks, url);
  }

  async function evaluate(
    check: CustomCheck,
    release: CheckedRelease,
    now: number,
    state: CheckState,
    alpha: number,
  ): Promise<CheckVerdict> {
    const url = check.url ?? options.prometheusUrl;
    if (url === undefined)
      return unreadable(check, 'no data from Prometheus: no URL (give the check a url, or start the server with --prometheus-url)', '');
    try {
      return check.kind === 'ratio' ? await readRatio(check, url, release, now, alpha) : await readGauge(check, url, release, now, state);
    } catch (err) {
      if (err instanceof PrometheusQueryError) {
        // Once per outage of a check, not at every read.
        if (!state.verdict.detail.startsWith('no data from Prometheus'))
          options.logger?.warn(
            { release: release.id, check: check.name, err: err.message },
            'custom check: Prometheus query failed; holding',
          );
        return unreadable(check, `no data from Prometheus: ${err.message}`, url);
      }
      if (err instanceof NoData) return unreadable(check, err.message, url);
      throw err;
    }
  }

  return {
    async judge(release, now) {
      const checks = release.analysis.checks ?? [];
      if (checks.length === 0) return [];
      const key = `${release.stepIndex}@${holdStart(release)}`;
      let entry = states.get(release.id);
      if (entry?.key !== key) states.set(release.id, (entry = { key, checks: new Map() }));
      const alpha = DEFAULT_ALPHA / Math.max(1, checks.filter((c) => c.kind === 'ratio').length);
      const { checks: byName } = entry;
      return Promise.all(
        checks.map(async (check) => {
          let state = byName.get(check.name);
          if (state && now - state.readAt < check.intervalMs) return state.verdict;
          state ??= { readAt: now, verdict: unreadable(check, 'not read yet', ''), looks: [] };
          byName.set(check.name, state);
          state.readAt = now;
          state.verdict = await evaluate(check, release, now, state, alpha);
          return state.verdict;
        }),
      );
    },
    prune(keep) {
      for (const id of states.keys()) if (!keep.has(id)) states.delete(id);
    },
  };
}

/** The judge's result with the custom checks' verdicts added: fail if any fails, pass only if all pass. */
export function withCustomChecks(result: JudgeResult, custom: readonly CheckVerdict[]): JudgeResult {
  if (custom.length === 0) return result;
  const checks = [...result.checks, ...custom];
  return combineChecks(result.judge, checks, result.at, result);
}

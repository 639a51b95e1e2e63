/**
 * Custom checks: a release's own PromQL checks beside the built-in ones, compiled
 * once where they enter (API body `analysis.checks`, `--analysis-file`).
 *
 * - `ratio`: two cumulative counters per version, `events` and `total` (checkout failures and
 *   checkouts), judged with the same anytime-valid count test as the error rate, with a
 *   relative tolerance and an absolute `minDifference`, and an optional absolute bound.
 * - `gauge`: one expression per version (a feedback score, a queue depth), judged by a plain
 *   threshold rule over the last `evaluations` looks — canary vs stable with a tolerance, and/or
 *   an absolute `min`/`max`; labelled "threshold, not anytime-valid" in every verdict.
 * Every query names the version with `$version` (as in the Prometheus source's queries).
 */
import { parseDuration } from './duration.js';
import { ValidationError } from './errors.js';

export const CUSTOM_CHECK_KINDS = ['ratio', 'gauge'] as const;
export type CustomCheckKind = (typeof CUSTOM_CHECK_KINDS)[number];
export const CHECK_DIRECTIONS = ['lower-is-better', 'higher-is-better'] as const;
export type CheckDirection = (typeof CHECK_DIRECTIONS)[number];

/** At most this many custom checks per release: each costs queries every interval. */
export const MAX_CUSTOM_CHECKS = 10;
/** Names the built-in checks use: a custom check may not take one (alerts are keyed by name). */
export const BUILTIN_CHECK_NAMES = ['error-rate', 'error-ceiling', 'latency', 'p99-ceiling', 'feedback'] as const;
export const CHECK_NAME_PATTERN = '^[a-z0-9]([a-z0-9_.-]{0,62})$';
export const MAX_QUERY_LENGTH = 4096;

interface CheckCommon {
  readonly name: string;
  /** This check's Prometheus; null: the server's `--prometheus-url`. */
  readonly url: string | null;
  readonly direction: CheckDirection;
  /** How often Prometheus is queried; for ratio checks also the length of each counted window. */
  readonly intervalMs: number;
}

export interface RatioCheck extends CheckCommon {
  readonly kind: 'ratio';
  readonly events: string;
  readonly total: string;
  /** Relative: worse than (1 + tolerance) × stable's ratio (lower-is-better), or below stable's / (1 + tolerance). */
  readonly tolerance: number;
  /** Absolute: and worse than stable's ratio by more than this (a fraction: 0.01 = 1 percentage point). */
  readonly minDifference: number;
  /** Absolute bound on the canary's ratio: a ceiling (lower-is-better) or a floor (higher-is-better); null for none. */
  readonly bound: number | null;
  /** `total` each version needs in a step before the evidence counts as enough; null: the release's minRequests. */
  readonly minTotal: number | null;
}

export interface GaugeCheck extends CheckCommon {
  readonly kind: 'gauge';
  readonly query: string;
  /** Canary vs stable: worse by more than tolerance × |stable| and minDifference; null: no comparison. */
  readonly tolerance: number | null;
  readonly minDifference: number;
  readonly min: number | null;
  readonly max: number | null;
  /** Looks in a row that decide: all of the last N failing fails, all passing passes. */
  readonly evaluations: number;
}

export type CustomCheck = RatioCheck | GaugeCheck;

/** A custom check as the API and analysis files take it (docs/metrics.md "Custom checks"). */
export interface CustomCheckInput {
  readonly name: string;
  readonly kind: CustomCheckKind;
  readonly url?: string;
  readonly direction?: CheckDirection;
  readonly interval?: string | number;
  readonly events?: string;
  readonly total?: string;
  readonly query?: string;
  readonly tolerance?: number;
  readonly minDifference?: number;
  readonly min?: number | null;
  readonly max?: number | null;
  readonly minTotal?: number;
  readonly evaluations?: number;
}

export const CUSTOM_CHECK_DEFAULTS = {
  intervalMs: 10_000,
  ratioTolerance: 0.1,
  ratioMinDifference: 0.001,
  gaugeMinDifference: 0,
  evaluations: 3,
} as const;

const RATIO_ONLY = ['events', 'total', 'minTotal'] as const;
const GAUGE_ONLY = ['query', 'evaluations'] as const;

/**
 * Compiles a release's custom checks with defaults filled.
 * @throws ValidationError naming the bad field (`<field>[i].<name>`): more than 10 checks, a
 * duplicate or built-in name, an unknown kind, an empty query or one without `$version`, a
 * tolerance or bound out of range, a field the kind does not take, a bad URL.
 */
export function compileCustomChecks(input: readonly CustomCheckInput[] | undefined, field = 'analysis.checks'): CustomCheck[] {
  if (input === undefined) return [];
  const list: unknown = input;
  if (!Array.isArray(list)) throw new ValidationError(field, 'expected a list of checks');
  if (input.length > MAX_CUSTOM_CHECKS)
    throw new ValidationError(field, `${input.length} checks; at most ${MAX_CUSTOM_CHECKS} custom checks per release`);
  const seen = new Set<string>();
  return input.map((c, i) => {
    const at = `${field}[${i}]`;
    const check = compileOne(c, at);
    if (seen.has(check.name)) throw new ValidationError(`${at}.name`, `"${check.name}" is used by another check; names must be unique`);
    seen.add(check.name);
    return check;
  });
}

function compileOne(c: CustomCheckInput, at: string): CustomCheck {
  if (c === null || typeof c !== 'object') throw new ValidationError(at, 'expected a check object with name and kind');
  const name = c.name;
  if (typeof name !== 'string' || !new RegExp(CHECK_NAME_PATTERN).test(name))
    throw new ValidationError(`${at}.name`, `${JSON.stringify(name)}; expected 1-63 lowercase letters, digits, ".", "_" or "-"`);
  if ((BUILTIN_CHECK_NAMES as readonly string[]).includes(name))
    throw new ValidationError(`${at}.name`, `"${name}" is a built-in check's name; choose another`);
  const direction = c.direction ?? 'lower-is-better';
  if (!CHECK_DIRECTIONS.includes(direction))
    throw new ValidationError(`${at}.direction`, `${JSON.stringify(direction)}; expected ${CHECK_DIRECTIONS.join(' or ')}`);
  const intervalMs = c.interval === undefined ? CUSTOM_CHECK_DEFAULTS.intervalMs : parseDuration(c.interval, `${at}.interval`);
  if (intervalMs < 1000 || intervalMs % 1000 !== 0)
    throw new ValidationError(`${at}.interval`, `${intervalMs} ms; expected whole seconds, at least 1s`, 'TERN_INVALID_DURATION');
  const common = { name, url: compileUrl(c.url, `${at}.url`), direction, intervalMs };
  switch (c.kind) {
    case 'ratio': {
      refuse(c, GAUGE_ONLY, at, 'ratio');
      refuse(c, direction === 'lower-is-better' ? ['min'] : ['max'], at, `${direction} ratio`);
      const bound = direction === 'lower-is-better' ? c.max : c.min;
      const minTotal = c.minTotal;
      if (minTotal !== undefined && (!Number.isInteger(minTotal) || minTotal < 1 || minTotal > 10_000_000))
        throw new ValidationError(`${at}.minTotal`, `expected a whole number from 1 to 10000000, got ${minTotal}`);
      return {
        ...common,
        kind: 'ratio',
        events: compileQuery(c.events, `${at}.events`),
        total: compileQuery(c.total, `${at}.total`),
        tolerance: number(c.tolerance, CUSTOM_CHECK_DEFAULTS.ratioTolerance, `${at}.tolerance`, 0, 100),
        minDifference: number(c.minDifference, CUSTOM_CHECK_DEFAULTS.ratioMinDifference, `${at}.minDifference`, 0, 1),
        bound:
          bound === undefined || bound === null ? null : number(bound, 0, `${at}.${direction === 'lower-is-better' ? 'max' : 'min'}`, 0, 1),
        minTotal: minTotal ?? null,
      };
    }
    case 'gauge': {
      refuse(c, RATIO_ONLY, at, 'gauge');
      const min = c.min === undefined || c.min === null ? null : number(c.min, 0, `${at}.min`, -Number.MAX_VALUE, Number.MAX_VALUE);
      const max = c.max === undefined || c.max === null ? null : number(c.max, 0, `${at}.max`, -Number.MAX_VALUE, Number.MAX_VALUE);
      if (min !== null && max !== null && min > max) throw new ValidationError(`${at}.min`, `${min} is above max ${max}`);
      const tolerance = c.tolerance === undefined ? null : number(c.tolerance, 0, `${at}.tolerance`, 0, 100);
      if (tolerance === null && min === null && max === null)
        throw new ValidationError(at, 'a gauge check needs a comparison: tolerance (canary vs stable), min or max');
      const evaluations = c.evaluations ?? CUSTOM_CHECK_DEFAULTS.evaluations;
      if (!Number.isInteger(evaluations) || evaluations < 1 || evaluations > 100)
        throw new ValidationError(`${at}.evaluations`, `expected a whole number from 1 to 100, got ${evaluations}`);
      return {
        ...common,
        kind: 'gauge',
        query: compileQuery(c.query, `${at}.query`),
        tolerance,
        minDifference: number(c.minDifference, CUSTOM_CHECK_DEFAULTS.gaugeMinDifference, `${at}.minDifference`, 0, Number.MAX_VALUE),
        min,
        max,
        evaluations,
      };
    }
    default:
      throw new ValidationError(
        `${at}.kind`,
        `${JSON.stringify((c as { kind?: unknown }).kind)}; expected ${CUSTOM_CHECK_KINDS.join(' or ')}`,
      );
  }
}

function refuse(c: CustomCheckInput, fields: readonly (keyof CustomCheckInput)[], at: string, what: string): void {
  for (const f of fields)
    if (c[f] !== undefined && c[f] !== null) throw new ValidationError(`${at}.${f}`, `a ${what} check does not take ${f}`);
}

function compileQuery(query: string | undefined, field: string): string {
  if (typeof query !== 'string' || query.trim() === '') throw new ValidationError(field, 'expected a PromQL expression; got none');
  if (query.length > MAX_QUERY_LENGTH) throw new ValidationError(field, `${query.length} characters; at most ${MAX_QUERY_LENGTH}`);
  if (!query.includes('$version'))
    throw new ValidationError(field, `no $version in "${query}": the query must select one version, e.g. {version="$version"}`);
  return query.trim();
}

function compileUrl(url: string | undefined, field: string): string | null {
  if (url === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(field, `"${url}" is not a URL; expected e.g. http://prometheus:9090`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ValidationError(field, `"${url}"; expected an http or https URL of a Prometheus`);
  return url;
}

function number(value: number | undefined, fallback: number, field: string, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new ValidationError(field, `expected a number from ${min} to ${max}, got ${String(v)}`);
  return v;
}

/**
 * The analysis flags shared by `release start` and `release replay`: each turns one flag into
 * the API's analysis input (validated again by the server), e.g.
 * `--latency-tolerance 20%,5ms --error-tolerance 10%,0.05pp --warmup 10s`, over the settings of
 * `--analysis-file` when one is given (flags win). Bad values exit 2 saying what is accepted.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { isTernError } from '../core/errors.js';
import type { AnalysisInput } from '../core/plan.js';
import { JUDGES } from '../core/types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `20%` or `0.2` → 0.2. @throws InvalidArgumentError */
function relative(text: string, flag: string): number {
  const percent = text.endsWith('%');
  const n = Number(percent ? text.slice(0, -1) : text);
  if (text === '' || text === '%' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(
      `${flag}: "${text}" is not a relative tolerance; expected a percent such as 20% (or a fraction such as 0.2)`,
    );
  }
  return percent ? n / 100 : n;
}

/** Splits `REL[,ABS]` (either part may come alone when it carries its unit). */
function parts(value: string): string[] {
  return value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * `--latency-tolerance 20%,5ms`: relative part and/or absolute part in ms (`5ms`, `0.5ms`).
 * @throws InvalidArgumentError
 */
export function parseLatencyTolerance(value: string): { tolerance?: number; minDifferenceMs?: number } {
  const out: { tolerance?: number; minDifferenceMs?: number } = {};
  const items = parts(value);
  if (items.length === 0 || items.length > 2)
    throw new InvalidArgumentError(`"${value}" is not a latency tolerance; expected e.g. 20%,5ms`);
  for (const item of items) {
    if (/ms$/.test(item)) {
      const ms = Number(item.slice(0, -2));
      if (item === 'ms' || !Number.isFinite(ms) || ms < 0)
        throw new InvalidArgumentError(`"${item}" is not a duration in ms; expected e.g. 5ms`);
      out.minDifferenceMs = ms;
    } else out.tolerance = relative(item, '--latency-tolerance');
  }
  return out;
}

/**
 * `--error-tolerance 50%,0.1pp`: relative part (ratio over 1) and/or absolute part in percentage
 * points (`0.1pp`). @throws InvalidArgumentError
 */
export function parseErrorTolerance(value: string): { tolerance?: number; minDifference?: number } {
  const out: { tolerance?: number; minDifference?: number } = {};
  const items = parts(value);
  if (items.length === 0 || items.length > 2)
    throw new InvalidArgumentError(`"${value}" is not an error-rate tolerance; expected e.g. 50%,0.1pp`);
  for (const item of items) {
    if (/pp$/.test(item)) {
      const pp = Number(item.slice(0, -2));
      if (item === 'pp' || !Number.isFinite(pp) || pp < 0 || pp > 100)
        throw new InvalidArgumentError(`"${item}" is not percentage points; expected e.g. 0.1pp`);
      out.minDifference = pp / 100;
    } else out.tolerance = relative(item, '--error-tolerance');
  }
  return out;
}

/** `--error-max 5%` (or `0.05`, or `none` for no ceiling) → 0.05 | null. @throws InvalidArgumentError */
export function parseErrorMax(value: string): number | null {
  if (value.trim() === 'none') return null;
  const bad = () =>
    new InvalidArgumentError(`"${value}" is not an error-rate ceiling; expected a percent from 0% to 100% such as 5% (or 0.05), or none`);
  let n: number;
  try {
    n = relative(value.trim(), '--error-max');
  } catch {
    throw bad();
  }
  if (n > 1) throw bad();
  return n;
}

/** `--p99-max 500ms` (or `0.5s`, a bare number of ms, or `none`) → 500 | null. @throws InvalidArgumentError */
export function parseP99Max(value: string): number | null {
  const text = value.trim();
  if (text === 'none') return null;
  let ms: number;
  if (/^\d+(?:\.\d+)?$/.test(text)) ms = Number(text);
  else {
    try {
      ms = parseDuration(text, '--p99-max');
    } catch {
      ms = Number.NaN;
    }
  }
  if (!(ms > 0) || ms > 60_000)
    throw new InvalidArgumentError(`"${value}" is not a p99 ceiling; expected a duration above 0 up to 60s such as 500ms or 1.5s, or none`);
  return ms;
}

/** `--feedback-tolerance 0.5`: score points (0..4) the canary's mean may be below stable's. @throws InvalidArgumentError */
export function parseFeedbackTolerance(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 4)
    throw new InvalidArgumentError(`"${value}" is not a feedback tolerance; expected score points from 0 to 4, e.g. 0.5`);
  return n;
}

/** `--feedback-min 3.5`: the lowest mean score (1..5) the canary may have, or `none`. @throws InvalidArgumentError */
export function parseFeedbackMin(value: string): number | null {
  if (value.trim() === 'none') return null;
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 1 || n > 5)
    throw new InvalidArgumentError(`"${value}" is not a minimum score; expected a score from 1 to 5, e.g. 3.5, or none`);
  return n;
}

function wholeNumber(what: string, min: number, max: number, example: number): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`"${value}" is not ${what}; expected a whole number from ${min} to ${max}, e.g. ${example}`);
    return n;
  };
}

/** `--min-requests 100`: requests each version needs in a step (1..10000000). @throws InvalidArgumentError */
export const parseMinRequests = wholeNumber('a request count', 1, 10_000_000, 100);
/** `--threshold 5`: failed intervals before the threshold judge fails the release (1..1000). @throws InvalidArgumentError */
export const parseThreshold = wholeNumber('a count of failed intervals', 1, 1000, 5);

/**
 * A duration flag (`--interval 1s`, `--warmup 15s`; `0` is `0s`) checked here, sent as written.
 * @throws InvalidArgumentError
 */
function durationFlag(flag: string, allowZero: boolean): (value: string) => string {
  return (value) => {
    const text = value.trim() === '0' ? '0s' : value.trim();
    let ms: number;
    try {
      ms = parseDuration(text, flag);
    } catch (err) {
      throw new InvalidArgumentError(isTernError(err) ? err.message : String(err));
    }
    if (ms === 0 && !allowZero) throw new InvalidArgumentError(`${flag}: "${value}" must be above 0; expected e.g. 1s or 1m`);
    return text;
  };
}

/** `--interval 1s`: how often the judge looks (sequential) or how long one check covers. @throws InvalidArgumentError */
export const parseInterval = durationFlag('--interval', false);
/** `--warmup 15s` (`0` for none). @throws InvalidArgumentError */
export const parseWarmup = durationFlag('--warmup', true);

/** The options `addAnalysisOptions` registers, as commander hands them over. */
export interface AnalysisFlags {
  readonly judge?: string;
  readonly onFailure?: string;
  readonly latencyTolerance?: { tolerance?: number; minDifferenceMs?: number };
  readonly errorTolerance?: { tolerance?: number; minDifference?: number };
  readonly warmup?: string;
  readonly errorMax?: number | null;
  readonly p99Max?: number | null;
  readonly feedbackTolerance?: number;
  readonly feedbackMin?: number | null;
  readonly minRequests?: number;
  readonly interval?: string;
  readonly threshold?: number;
  /** The `--analysis-file` contents, checked (the file name until the preAction hook reads it). */
  readonly analysisFile?: AnalysisInput;
}

/** Registers the analysis flags on a command. */
export function addAnalysisOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--judge <judge>', 'analysis method').choices(JUDGES))
    .addOption(new Option('--on-failure <action>', 'what a failed analysis does').choices(['rollback', 'pause']))
    .option(
      '--latency-tolerance <rel,abs>',
      'latency fails only when the canary is slower by both, e.g. 20%,5ms (default 20%,5ms)',
      parseLatencyTolerance,
    )
    .option('--error-tolerance <rel,abs>', 'error rate fails only above both, e.g. 10%,0.05pp (default 10%,0.05pp)', parseErrorTolerance)
    .option('--error-max <percent>', "ceiling on the canary's error rate, e.g. 5%, or none (default 5%)", parseErrorMax)
    .option('--p99-max <duration>', "ceiling on the canary's p99 latency, e.g. 500ms, or none (default none)", parseP99Max)
    .option(
      '--feedback-tolerance <points>',
      "feedback fails when the canary's mean score is this far below stable's, e.g. 0.5 (turns the feedback check on)",
      parseFeedbackTolerance,
    )
    .option(
      '--feedback-min <score>',
      'feedback also fails below this mean score (1-5), e.g. 3.5, or none (turns the feedback check on)',
      parseFeedbackMin,
    )
    .option('--warmup <duration>', "the canary's first traffic not compared for latency, e.g. 10s (default 10s; 0 for none)", parseWarmup)
    .option('--min-requests <n>', 'requests each version needs in a step before its evidence counts (default 100)', parseMinRequests)
    .option('--interval <duration>', 'how often the judge looks, e.g. 1s (default 1s; 1m for threshold and mann-whitney)', parseInterval)
    .option('--threshold <n>', 'threshold judge: failed intervals before the release fails (default 5)', parseThreshold)
    .option('--analysis-file <file>', 'the API\'s "analysis" object from a JSON or YAML file (- for stdin); the flags above override it')
    .hook('preAction', async (_cmd, action) => {
      const file: unknown = action.getOptionValue('analysisFile');
      if (typeof file !== 'string') return;
      const { readAnalysisFile } = await import('./analysis-file.js');
      action.setOptionValue('analysisFile', readAnalysisFile(file));
    });
}

/** The API's analysis input: the file's settings with the flags given on top (undefined when neither). */
export function analysisFromFlags(flags: AnalysisFlags): AnalysisInput | undefined {
  const file = flags.analysisFile ?? {};
  const a: Mutable<AnalysisInput> = { ...file };
  if (flags.judge) a.judge = flags.judge as AnalysisInput['judge'] & string;
  if (flags.onFailure) a.onFailure = flags.onFailure as AnalysisInput['onFailure'] & string;
  if (flags.interval !== undefined) a.interval = flags.interval;
  if (flags.threshold !== undefined) a.threshold = flags.threshold;
  if (flags.minRequests !== undefined) a.minRequests = flags.minRequests;
  if (flags.warmup !== undefined) a.warmup = flags.warmup;
  if (flags.latencyTolerance || flags.p99Max !== undefined) {
    a.latency = {
      ...file.latency,
      ...flags.latencyTolerance,
      ...(flags.p99Max === undefined ? {} : { p99MaxMs: flags.p99Max }),
    };
  }
  if (flags.errorTolerance || flags.errorMax !== undefined) {
    a.errorRate = {
      ...file.errorRate,
      ...flags.errorTolerance,
      ...(flags.errorMax === undefined ? {} : { max: flags.errorMax }),
    };
  }
  if (flags.feedbackTolerance !== undefined || flags.feedbackMin !== undefined) {
    a.feedback = {
      ...file.feedback,
      ...(flags.feedbackTolerance === undefined ? {} : { tolerance: flags.feedbackTolerance }),
      ...(flags.feedbackMin === undefined ? {} : { minScore: flags.feedbackMin }),
    };
  }
  return Object.keys(a).length > 0 ? a : undefined;
}

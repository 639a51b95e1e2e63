/**
 * The analysis flags shared by `release start` and `release replay`: each turns one flag into
 * the API's analysis input (validated again by the server), e.g.
 * `--latency-tolerance 20%,5ms --error-tolerance 50%,0.1pp --warmup 15s`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AnalysisInput } from '../core/plan.js';

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

/** The options `addAnalysisOptions` registers, as commander hands them over. */
export interface AnalysisFlags {
  readonly judge?: string;
  readonly onFailure?: string;
  readonly latencyTolerance?: { tolerance?: number; minDifferenceMs?: number };
  readonly errorTolerance?: { tolerance?: number; minDifference?: number };
  readonly warmup?: string;
}

/** Registers the analysis flags on a command. */
export function addAnalysisOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--judge <judge>', 'analysis method').choices(['sequential', 'threshold', 'mann-whitney']))
    .addOption(new Option('--on-failure <action>', 'what a failed analysis does').choices(['rollback', 'pause']))
    .option(
      '--latency-tolerance <rel,abs>',
      'latency fails only when the canary is slower by both, e.g. 20%,5ms (default 20%,5ms)',
      parseLatencyTolerance,
    )
    .option('--error-tolerance <rel,abs>', 'error rate fails only above both, e.g. 50%,0.1pp (default 50%,0.1pp)', parseErrorTolerance)
    .option('--warmup <duration>', "the canary's first traffic not compared for latency, e.g. 15s (default 15s; 0 for none)");
}

/** The API's analysis input from the flags given (undefined when none was given). */
export function analysisFromFlags(flags: AnalysisFlags): AnalysisInput | undefined {
  const a: Mutable<AnalysisInput> = {};
  if (flags.judge) a.judge = flags.judge as AnalysisInput['judge'] & string;
  if (flags.onFailure) a.onFailure = flags.onFailure as AnalysisInput['onFailure'] & string;
  if (flags.latencyTolerance) a.latency = { ...flags.latencyTolerance };
  if (flags.errorTolerance) a.errorRate = { ...flags.errorTolerance };
  if (flags.warmup !== undefined) a.warmup = flags.warmup;
  return Object.keys(a).length > 0 ? a : undefined;
}

/**
 * Human durations (`30s`, `1m`, `1h30m`, `250ms`, or a bare number of seconds) to milliseconds.
 * Compiled once where user input enters; the core only ever sees milliseconds.
 */
import { ValidationError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Longest accepted duration: 7 days, so a typo like `30d0m` cannot park a release for months. */
export const MAX_DURATION_MS = 7 * UNIT_MS.d;

/**
 * Parses a duration. Accepts `250ms`, `30s`, `1m`, `1h30m`, `2d`, or a non-negative number of seconds.
 * @throws ValidationError (TERN_INVALID_DURATION) naming `field` when the text is not a duration or exceeds 7 days.
 */
export function parseDuration(input: string | number, field = 'duration'): number {
  let ms: number;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) {
      throw new ValidationError(field, `expected a non-negative number of seconds, got ${String(input)}`, 'TERN_INVALID_DURATION');
    }
    ms = Math.round(input * 1000);
  } else {
    const text = input.trim().toLowerCase();
    if (!WHOLE.test(text)) {
      throw new ValidationError(
        field,
        `"${input}" is not a duration; use a number with a unit, e.g. 250ms, 30s, 5m, 1h30m`,
        'TERN_INVALID_DURATION',
      );
    }
    ms = 0;
    for (const [, amount, unit] of text.matchAll(PART)) {
      ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    }
    ms = Math.round(ms);
  }
  if (ms > MAX_DURATION_MS) {
    throw new ValidationError(field, `"${String(input)}" is longer than the 7d maximum`, 'TERN_INVALID_DURATION');
  }
  return ms;
}

/** Formats milliseconds the way users write them (`1m30s`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return ms === 0 ? '0s' : `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

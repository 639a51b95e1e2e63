/**
 * Argument parsers for commander: each validates one flag value where it enters and throws
 * commander's InvalidArgumentError (exit 2) with a message that says what is accepted.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../core/duration.js';
import { isTernError } from '../core/errors.js';

/** TCP port 0..65535 (0 lets the OS pick). @throws InvalidArgumentError */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return n;
}

/** Positive integer. @throws InvalidArgumentError */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number above 0.');
  return n;
}

/** Feedback score: a whole number 1..5. @throws InvalidArgumentError */
export function parseScore(value: string): number {
  const n = Number(value);
  if (!/^[1-5]$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a score; expected a whole number from 1 to 5.`);
  return n;
}

/** Worker count: a whole number above 0, or `auto` for one per CPU the process may use. @throws InvalidArgumentError */
export function parseWorkers(value: string, cpus: () => number = availableParallelism): number {
  if (value === 'auto') return Math.max(1, cpus());
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number above 0, or auto (one per CPU).');
  return n;
}

/** Percent 0..100, `25` or `25%` (range is checked by the server). @throws InvalidArgumentError */
export function parsePercent(value: string): number {
  const text = value.trim().replace(/%$/, '');
  const n = Number(text);
  if (text === '' || !Number.isFinite(n))
    throw new InvalidArgumentError(`"${value}" is not a percent; expected a number from 0 to 100, e.g. 25`);
  return n;
}

/** Repeatable flag: collects each value (comma-separated values are split too). */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

/** Repeatable `key=value` flag into a record. @throws InvalidArgumentError */
export function collectKeyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not key=value, e.g. commit=9f8d111`);
  return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1) };
}

/**
 * A point in time: an ISO date/time (`2025-01-31`, `2025-01-31T14:00:00Z`) or a duration meaning
 * "that long ago" (`30m`, `2h`, `1d`). Returns an ISO string.
 * @throws InvalidArgumentError
 */
export function parseSince(value: string, now = Date.now()): string {
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d)/i.test(value.trim())) {
    try {
      return new Date(now - parseDuration(value, '--since')).toISOString();
    } catch (err) {
      throw new InvalidArgumentError(isTernError(err) ? err.message : String(err));
    }
  }
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(`"${value}" is neither a date/time (2025-01-31T14:00:00Z) nor a duration ago (30m, 2h, 1d).`);
  return new Date(t).toISOString();
}

/** A duration (`90d`, `12h`) in milliseconds, above 0. @throws InvalidArgumentError */
export function parseDurationFlag(value: string): number {
  try {
    const ms = parseDuration(value, 'duration');
    if (ms > 0) return ms;
  } catch (err) {
    throw new InvalidArgumentError(isTernError(err) ? err.message : String(err));
  }
  throw new InvalidArgumentError(`"${value}" is not a duration above 0; expected e.g. 90d, 12h`);
}

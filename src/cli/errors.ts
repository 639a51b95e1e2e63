/**
 * The CLI's exit codes and the errors that carry them. One place decides which code a failure
 * gets and how it is worded, so every command fails the same way (docs/cli.md lists them).
 */
import { CommanderError } from 'commander';
import { isTernError } from '../core/errors.js';

/** Process exit codes; stable, scripts depend on them. */
export const EXIT = {
  ok: 0,
  other: 1,
  usage: 2,
  unreachable: 3,
  refused: 4,
  serverError: 5,
  /** `--wait` / `watch`: the release was rolled back. */
  rolledBack: 10,
  /** `--wait` / `watch`: the release failed (its canary never became ready). */
  failed: 11,
  /** `--wait` / `watch`: the release paused itself or was paused (or its weight was set by hand). */
  paused: 12,
  /** `--wait` / `watch`: `--timeout` passed first; the release keeps running. */
  timedOut: 13,
  /** `--wait` / `watch`: Ctrl-C stopped the watching; the release keeps running. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Wrong or missing arguments the parser could not catch (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The server could not be reached at all: refused, DNS, timeout (exit 3). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the Tern API at ${url}: ${reason}`, options);
  }
}

/** The server answered with an error status (exit 4 for 4xx, 5 for 5xx). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** A suggestion printed after the message, e.g. how to pass a token. */
  hint: string | undefined;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
  ) {
    super(`${code}: ${apiMessage} (HTTP ${status})`);
  }
}

/** A failure that is expected and explained by its message alone (exit 1, no stack). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/**
 * A wait that ended without the release being promoted: the outcome is already printed, so
 * this carries only the exit code (nothing more is printed for it).
 */
export class WaitOutcome extends Error {
  override readonly name = 'WaitOutcome';
  constructor(
    readonly exitCode: ExitCode,
    outcome: string,
  ) {
    super(`the wait ended: ${outcome}`);
  }
}

/** The exit code for any error a command threw. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof WaitOutcome) return err.exitCode;
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof UnreachableError) return EXIT.unreachable;
  if (err instanceof ApiError) return err.status >= 500 ? EXIT.serverError : EXIT.refused;
  return EXIT.other;
}

/**
 * The lines to print on stderr for an error. Expected errors get their message only; anything
 * else (a bug) gets its stack too when TERN_DEBUG is set.
 */
export function describeError(err: unknown, debug = false): string[] {
  if (err instanceof WaitOutcome) return [];
  if (err instanceof UsageError) return [`error: ${err.message}`, '(run with --help for usage)'];
  if (err instanceof ApiError) return err.hint ? [`error: ${err.message}`, `hint: ${err.hint}`] : [`error: ${err.message}`];
  if (err instanceof UnreachableError || err instanceof CliError) return [`error: ${err.message}`];
  if (isTernError(err)) return [`error: ${err.code}: ${err.message}`];
  if (err instanceof Error) {
    const lines = [`error: ${err.message}`];
    if (debug && err.stack) lines.push(err.stack);
    else lines.push('(set TERN_DEBUG=1 for details)');
    return lines;
  }
  return [`error: ${String(err)}`];
}

/** Exit-code table for `tern --help` and docs/cli.md. */
export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  any other failure
  2  usage error (unknown command or flag, bad or missing argument)
  3  cannot reach the server (connection refused, DNS failure, timeout)
  4  the server refused the request (HTTP 4xx; its error code and message are printed)
  5  server error (HTTP 5xx)
  release start --wait and release watch, when the release stops moving:
  0  promoted
  10 rolled back (by the judge or by hand; the last line says why)
  11 failed
  12 paused (it paused itself, was paused, or its weight was set by hand): the wait
     ends rather than hang a pipeline; resume it and watch again
  13 --timeout passed first (the release keeps running)
  130 interrupted by Ctrl-C (only the watching stops; the release keeps running)`;

/**
 * The gateway's connection caps and timeouts as flags, shared by `tern gateway` and
 * `tern server` (its built-in gateway). Unset flags keep the defaults of gateway/limits.ts,
 * which the help text states; docs/operations.md ("Limits and timeouts") explains them.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { isTernError } from '../core/errors.js';
import { DEFAULT_WARM_UP_REQUESTS, type LimitSettings } from '../gateway/limits.js';
import { parsePositiveInt } from './parse.js';

export interface LimitFlags {
  readonly maxConnections?: number;
  readonly maxConnectionsPerClient?: number;
  readonly maxHeaderCount?: number;
  readonly headerTimeout?: number;
  readonly bodyTimeout?: number;
  readonly requestTimeout?: number;
  readonly keepaliveTimeout?: number;
  readonly warmUp?: number;
}

/** A request count from 0 to 100,000. @throws InvalidArgumentError */
function parseWarmUp(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 100_000) throw new InvalidArgumentError('expected a number of requests from 0 to 100000');
  return n;
}

/** A duration (`10s`, `75s`, `500ms`) in ms; `0` turns the timeout off. @throws InvalidArgumentError */
export function parseTimeout(value: string): number {
  if (value.trim() === '0') return 0;
  try {
    return parseDuration(value, 'timeout');
  } catch (err) {
    throw new InvalidArgumentError(isTernError(err) ? err.message : String(err));
  }
}

/** Adds the limit flags to `cmd`. */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option(
      '--max-connections <n>',
      'user connections open at most; more get 503 (default: the open-file limit minus max(256, 10%))',
      parsePositiveInt,
    )
    .option(
      '--max-connections-per-client <n>',
      'user connections open at most per client address (IPv6: per /64) (default: 256)',
      parsePositiveInt,
    )
    .option('--max-header-count <n>', 'request header lines at most; more get 431 (default: 100)', parsePositiveInt)
    .option('--header-timeout <duration>', 'time to receive a request head before 408; 0 for none (default: 10s)', parseTimeout)
    .option('--body-timeout <duration>', 'longest pause inside a request body before 408; 0 for none (default: 60s)', parseTimeout)
    .option('--request-timeout <duration>', 'time to receive a whole request, body included; 0 for none (default: 300s)', parseTimeout)
    .option('--keepalive-timeout <duration>', 'how long an idle keep-alive connection is kept (default: 75s)', parseTimeout)
    .option(
      '--warm-up <requests>',
      `requests the gateway sends through its own proxy path, on a private port, before it listens, so its first users find it warm; 0 for none (default: ${DEFAULT_WARM_UP_REQUESTS})`,
      parseWarmUp,
    );
}

/** How many warm-up requests the gateway serves itself before it listens. */
export function warmUpFrom(flags: LimitFlags): number {
  return flags.warmUp ?? DEFAULT_WARM_UP_REQUESTS;
}

/** The limits the flags set (unset ones are left to the gateway's defaults). */
export function limitsFrom(flags: LimitFlags): Partial<LimitSettings> {
  const pairs: Array<[keyof LimitSettings, number | undefined]> = [
    ['maxConnections', flags.maxConnections],
    ['maxConnectionsPerClient', flags.maxConnectionsPerClient],
    ['maxHeaderCount', flags.maxHeaderCount],
    ['headersTimeoutMs', flags.headerTimeout],
    ['bodyIdleTimeoutMs', flags.bodyTimeout],
    ['requestTimeoutMs', flags.requestTimeout],
    ['keepAliveTimeoutMs', flags.keepaliveTimeout],
  ];
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined));
}

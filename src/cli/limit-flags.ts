/**
 * The gateway's connection caps and timeouts as flags, shared by `tern gateway` and
 * `tern server` (its built-in gateway). Unset flags keep the defaults of gateway/limits.ts,
 * which the help text states; docs/operations.md ("Limits and timeouts") explains them.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { isTernError } from '../core/errors.js';
import type { LimitSettings } from '../gateway/limits.js';
import { parsePositiveInt } from './parse.js';

export interface LimitFlags {
  readonly maxConnections?: number;
  readonly maxConnectionsPerClient?: number;
  readonly maxHeaderCount?: number;
  readonly headerTimeout?: number;
  readonly bodyTimeout?: number;
  readonly requestTimeout?: number;
  readonly keepaliveTimeout?: number;
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
    .option('--keepalive-timeout <duration>', 'how long an idle keep-alive connection is kept (default: 75s)', parseTimeout);
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

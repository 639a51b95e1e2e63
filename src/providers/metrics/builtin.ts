/**
 * The built-in gateway's evidence as a MetricSource: its one-second windows (requests, errors,
 * gateway errors, heavy error users, every request's latency in the mergeable histogram of
 * core/latency-histogram.ts), drained from GatewayMetrics (src/gateway/metrics.ts). The
 * gateway times every request, so its windows carry no `latencySampleRate`.
 */
import { ValidationError } from '../../core/errors.js';
import type { MetricWindow } from '../../core/types.js';
import type { GatewayMetrics } from '../../gateway/metrics.js';
import type { MetricSource } from './source.js';

/** Longest source name a metrics push accepts (its `gateway` field). */
export const MAX_SOURCE_NAME = 128;

export interface BuiltinSourceOptions {
  /** The gateway's name: the source key of its windows (e.g. `<hostname>:<pid>:<port>`). */
  readonly name: string;
  /** The gateway's metrics; only `drainWindows` is used. */
  readonly metrics: Pick<GatewayMetrics, 'drainWindows'>;
}

/**
 * Wraps a gateway's metrics drain. `drainWindows(now)` returns the windows the gateway has
 * closed (its own clock decides which second is over; `now` is not needed), each once; after
 * `close()` it returns none. The gateway keeps owning its metrics: closing releases nothing.
 * @throws ValidationError when `name` is empty or longer than MAX_SOURCE_NAME
 */
export function builtinMetricSource(options: BuiltinSourceOptions): MetricSource {
  const { name, metrics } = options;
  if (name.length === 0 || name.length > MAX_SOURCE_NAME) {
    throw new ValidationError('name', `"${name}" is not a source name; expected 1 to ${MAX_SOURCE_NAME} characters`);
  }
  let closed = false;
  return {
    name,
    drainWindows: (): MetricWindow[] => (closed ? [] : metrics.drainWindows()),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * The MetricSource provider interface: where per-version evidence windows come
 * from — the built-in gateway's own counters, an HAProxy or NGINX agent reading its proxy, or
 * (control-plane side) Prometheus. Windows are keyed by (source, release, version, window
 * start): the store replaces a window it already has from the same source, so a retried push
 * or a re-read never counts twice.
 */
import type { MetricWindow } from '../../core/types.js';

export interface MetricSource {
  /** Stable name of the source (the data plane's id): part of every window's key. */
  readonly name: string;
  /** Windows closed since the last call (each window once, unless a re-read repeats it under the same key). */
  drainWindows(now: number): MetricWindow[];
  close(): Promise<void>;
}

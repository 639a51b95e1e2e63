/**
 * NginxAccessLogSource (a MetricSource): per-version evidence from NGINX OSS, which has
 * no per-upstream counters. NGINX writes one short line per proxied request to a buffered access
 * log (`$msec <release> <s|c> $status $request_time $upstream_response_time`, config.ts); the
 * agent tails it and aggregates exact per-second windows: requests, errors (5xx, which includes
 * NGINX's own 502/504 for upstream failures) and the latency histogram (latency-histogram.ts).
 *
 * Latency is `$upstream_response_time` (summed over retried upstreams), else `$request_time`:
 * NGINX measures both in whole milliseconds, so a sub-millisecond answer counts as ≤ 1 µs.
 *
 * Windows are emitted once they are `graceMs` old (the log buffer flushes every second); a line
 * arriving later re-emits its whole window under the same key, which the store replaces, so a
 * window never counts twice. Rotation (rename: the old file is read to its end first, then
 * `nginx -s reopen`) and truncation are followed; a truncation is seen as a size below the offset
 * read, so with copytruncate the lines written before the next poll and past the old size would
 * be missed (prefer rename rotation). On start the tail of an existing log is re-read, so windows a killed
 * agent had not pushed are sent again, whole (the first second of a cut re-read is skipped as
 * partial; a log rotated away while the agent was down is not read).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { record, type LatencyHistogram } from '../../core/latency-histogram.js';
import type { MetricWindow } from '../../core/types.js';
import type { MetricSource } from './source.js';

export interface NginxAccessLogOptions {
  readonly name: string;
  readonly file: string;
  /** The version label of a release's side ('s' | 'c'), or null when unknown (the line is dropped). */
  readonly labelOf: (releaseId: string, side: string) => string | null;
  /** How old a window must be before it is emitted (default 2,500 ms: the 1 s log flush plus margin). */
  readonly graceMs?: number;
  /** How long an emitted window is kept to absorb late lines (default 30 s). */
  readonly keepMs?: number;
  /** How much of an existing log is re-read on start (default 8 MiB). */
  readonly rereadBytes?: number;
}

interface Window {
  readonly releaseId: string;
  readonly version: string;
  readonly start: number;
  requests: number;
  errors: number;
  latency: LatencyHistogram;
  emitted: number;
}

const WINDOW_MS = 1000;
const CHUNK = 1 << 20;

/** Milliseconds in an NGINX time list like `0.002`, `0.001, 0.003` or `0.001 : 0.002`; NaN for `-`. */
function seconds(text: string): number {
  if (text.length === 0 || text === '-') return NaN;
  let sum = 0;
  for (const part of text.split(/[,:]\s*/)) {
    const v = Number(part.trim());
    if (Number.isFinite(v)) sum += v;
  }
  return sum * 1000;
}

export class NginxAccessLogSource implements MetricSource {
  readonly name: string;
  readonly #opts: NginxAccessLogOptions;
  readonly #windows = new Map<string, Window>();
  #fd: number | null = null;
  #ino = 0;
  #offset = 0;
  #rest = '';
  #skipSecond = -1;
  readonly #buffer = Buffer.allocUnsafe(CHUNK);
  /** Lines whose release was unknown (not attributed). */
  unattributed = 0;

  constructor(opts: NginxAccessLogOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#open(true);
  }

  #open(atStart: boolean): void {
    try {
      this.#fd = openSync(this.#opts.file, 'r');
    } catch {
      this.#fd = null;
      return;
    }
    const st = fstatSync(this.#fd);
    this.#ino = st.ino;
    this.#offset = 0;
    this.#rest = '';
    if (atStart) {
      const reread = this.#opts.rereadBytes ?? 8 << 20;
      if (st.size > reread) {
        this.#offset = st.size - reread;
        this.#skipSecond = -2; // drop the first (cut) line, then the first second read
      }
    }
  }

  #readToEnd(): void {
    if (this.#fd === null) return;
    for (;;) {
      const n = readSync(this.#fd, this.#buffer, 0, CHUNK, this.#offset);
      if (n <= 0) return;
      this.#offset += n;
      const text = this.#rest + this.#buffer.toString('latin1', 0, n);
      const lines = text.split('\n');
      this.#rest = lines.pop()!;
      for (const line of lines) this.#line(line);
    }
  }

  /** Reads new lines, following rotation and truncation. */
  poll(): void {
    let st: { ino: number; size: number } | null;
    try {
      st = statSync(this.#opts.file);
    } catch {
      st = null;
    }
    if (this.#fd !== null && (st === null || st.ino !== this.#ino)) {
      this.#readToEnd(); // rotated: finish the old file first
      closeSync(this.#fd);
      this.#fd = null;
    }
    if (this.#fd === null) {
      if (st === null) return;
      this.#open(false);
    } else if (st !== null && st.size < this.#offset) {
      this.#offset = 0; // truncated in place
      this.#rest = '';
    }
    this.#readToEnd();
  }

  #line(line: string): void {
    if (this.#skipSecond === -2) {
      this.#skipSecond = -3;
      return;
    }
    const f = line.split(' ');
    if (f.length < 6) return;
    const ms = Number(f[0]) * 1000;
    if (!Number.isFinite(ms)) return;
    const start = Math.floor(ms / WINDOW_MS) * WINDOW_MS;
    if (this.#skipSecond === -3) this.#skipSecond = start;
    if (start === this.#skipSecond) return;
    const releaseId = f[1]!;
    if (releaseId === '-') return; // no release: nothing compares this traffic
    const version = this.#opts.labelOf(releaseId, f[2]!);
    if (version === null) {
      this.unattributed++;
      return;
    }
    const key = `${releaseId}\u0000${version}\u0000${start}`;
    let w = this.#windows.get(key);
    if (w === undefined) {
      w = { releaseId, version, start, requests: 0, errors: 0, latency: {}, emitted: 0 };
      this.#windows.set(key, w);
    }
    w.requests++;
    if (Number(f[3]) >= 500) w.errors++;
    let latency = seconds(f.slice(5).join(' '));
    if (Number.isNaN(latency)) latency = seconds(f[4]!);
    if (!Number.isNaN(latency)) record(w.latency, latency);
  }

  drainWindows(now: number): MetricWindow[] {
    this.poll();
    const out: MetricWindow[] = [];
    const grace = this.#opts.graceMs ?? 2500;
    const keep = this.#opts.keepMs ?? 30_000;
    for (const [key, w] of this.#windows) {
      if (w.start + WINDOW_MS + grace > now) continue;
      if (w.requests !== w.emitted) {
        w.emitted = w.requests;
        out.push({
          releaseId: w.releaseId,
          version: w.version,
          windowStart: w.start,
          windowMs: WINDOW_MS,
          requests: w.requests,
          errors: w.errors,
          latency: { ...w.latency },
          feedbackSum: 0,
          feedbackCount: 0,
        });
      }
      if (w.start + WINDOW_MS + keep < now) this.#windows.delete(key);
    }
    return out;
  }

  close(): Promise<void> {
    this.poll();
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    return Promise.resolve();
  }
}

/**
 * HaproxyEvidence: the MetricSource of the HAProxy data plane. Per release,
 * version and second:
 * - requests and errors are exact: the deltas of each backend's `stot` and `hrsp_5xx` from
 *   `show stat`, read once a second over the runtime API (HAProxy counts its own 502/503/504
 *   of a failed connect or a broken answer in the backend's `hrsp_5xx`, so a version's errors
 *   are the 5xx its users got, as the built-in gateway counts them). A reload starts a worker
 *   with counters at zero: a counter that went down is read as a reset.
 * - latency is sampled: HAProxy logs one request in N (`log … sample 1:N`, raw `tern <backend>
 *   <status> <Ta>`) to a UDP syslog receiver here; the histogram holds only those samples and
 *   the window says so with `latencySampleRate` (docs/data-planes.md).
 * Only traffic of a service with a release in progress makes windows, as in the built-in gateway.
 * Reads are aligned to the wall clock (just after each second), so window [t, t+1 s) holds the
 * requests HAProxy counted in that second, as the built-in gateway's does, and a window is handed
 * out as soon as the read after its end is in: no later read can add to it. (Reads at an arbitrary
 * phase put up to a second of traffic in the previous window — before a step's hold start, where
 * the judge does not look — and a fixed settle time after the window added up to a second more
 * before the judge saw it: the HAProxy path's rollback took longer than the gateway's.)
 * Latency samples wait for the next counter read and go into the same window as the requests it
 * counts, so a window does not hold more samples than requests, which the control plane rejects
 * (a whole push). HAProxy counts a request when it starts and logs it when it ends, so a few
 * samples can still come one read late: what a window cannot hold is dropped (a handful at most).
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { bucketOf, fromBucketCounts } from '../../../core/latency-histogram.js';
import type { MetricWindow, RoutingTable } from '../../../core/types.js';
import type { MetricSource } from '../../metrics/source.js';
import type { BackendInfo } from './config.js';
import { parseShowStat, runtimeCommand } from './runtime-api.js';

const WINDOW_MS = 1_000;
/** A read is made this long after each second: the counters then hold the second just ended. */
const READ_OFFSET_MS = 20;
/** Windows kept when nobody drains (a data plane without a control plane): memory stays flat. */
const MAX_WINDOWS = 10_000;

/** What the evidence needs of the router: the table in force and where HAProxy answers. */
export interface EvidenceTarget {
  current(): { readonly table: RoutingTable; readonly rendered: { readonly backends: readonly BackendInfo[] } };
  readonly adminSocket: string;
}

export interface HaproxyEvidenceOptions {
  /** The data plane's name: the source of every window. */
  readonly name: string;
  /** One request in `sampleEvery` is logged for latency (1 = all). */
  readonly sampleEvery: number;
  readonly logger: Logger;
}

interface Acc {
  readonly releaseId: string;
  readonly version: string;
  readonly start: number;
  requests: number;
  errors: number;
  latency: Map<number, number>;
  samples: number;
}

interface Counters {
  readonly stot: number;
  readonly errors: number;
}

export class HaproxyEvidence implements MetricSource {
  readonly name: string;
  readonly #opts: HaproxyEvidenceOptions;
  readonly #udp: dgram.Socket;
  readonly #windows = new Map<string, Acc>();
  readonly #last = new Map<string, Counters>();
  /** Latency samples per backend logged since its last counter read: they join that read's window. */
  readonly #pending = new Map<string, Map<number, number>>();
  #target: EvidenceTarget | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #reading = false;
  /** Windows starting at or before this are final: the read after their end has been made. */
  #finalThrough = -Infinity;

  private constructor(opts: HaproxyEvidenceOptions, udp: dgram.Socket) {
    this.name = opts.name;
    this.#opts = opts;
    this.#udp = udp;
    udp.on('message', (msg) => this.#onLog(msg.toString('utf8')));
  }

  /**
   * Binds the UDP log receiver on 127.0.0.1, on `port` when it is free (the last agent's, so
   * the config stays the same and a restarted agent reloads nothing), else on a free one.
   */
  static async listen(opts: HaproxyEvidenceOptions, port = 0): Promise<HaproxyEvidence> {
    const bind = (p: number): Promise<dgram.Socket> =>
      new Promise((resolve, reject) => {
        const udp = dgram.createSocket('udp4');
        udp.once('error', (err) => {
          udp.close();
          reject(err);
        });
        udp.bind(p, '127.0.0.1', () => {
          udp.removeAllListeners('error');
          resolve(udp);
        });
      });
    const udp = await bind(port).catch(() => bind(0));
    udp.on('error', (err) => opts.logger.warn({ err }, 'latency log receiver error'));
    return new HaproxyEvidence(opts, udp);
  }

  get port(): number {
    return this.#udp.address().port;
  }

  /** Starts reading counters of `target`'s HAProxy just after every second. */
  attach(target: EvidenceTarget): void {
    this.#target = target;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = WINDOW_MS - (Date.now() % WINDOW_MS) + READ_OFFSET_MS;
    this.#timer = setTimeout(() => void this.#read(Date.now()).finally(() => this.#schedule()), delay);
  }

  /** Which (release, version) a backend's traffic belongs to now; null when no release runs. */
  #labelOf(backend: string): { releaseId: string; version: string } | null {
    const current = this.#target?.current();
    const info = current?.rendered.backends.find((b) => b.backend === backend);
    if (!current || !info) return null;
    const route = current.table.routes.find((r) => r.service === info.service);
    if (!route?.canary) return null;
    return { releaseId: route.canary.releaseId, version: info.role === 'canary' ? route.canary.version : route.stable.version };
  }

  #acc(backend: string, at: number): Acc | null {
    const label = this.#labelOf(backend);
    if (label === null) return null;
    const start = Math.floor(at / WINDOW_MS) * WINDOW_MS;
    const key = `${label.releaseId}\u0000${label.version}\u0000${start}`;
    let acc = this.#windows.get(key);
    if (!acc) {
      if (this.#windows.size >= MAX_WINDOWS) this.#windows.delete(this.#windows.keys().next().value!);
      acc = { ...label, start, requests: 0, errors: 0, latency: new Map(), samples: 0 };
      this.#windows.set(key, acc);
    }
    return acc;
  }

  #onLog(line: string): void {
    for (const one of line.split('\n')) {
      const m = /^tern (\S+) (-?\d+) (-?\d+)/.exec(one.trim());
      if (!m) continue;
      const ta = Number(m[3]);
      if (ta < 0) continue; // aborted before an answer: no latency to record
      let pending = this.#pending.get(m[1]!);
      if (!pending) this.#pending.set(m[1]!, (pending = new Map<number, number>()));
      const b = bucketOf(ta);
      pending.set(b, (pending.get(b) ?? 0) + 1);
    }
  }

  /** Reads the backends' counters; the deltas since the last read go to the second that just ended. */
  async #read(now: number): Promise<void> {
    if (this.#reading || !this.#target) return;
    this.#reading = true;
    try {
      const rows = parseShowStat(await runtimeCommand(this.#target.adminSocket, 'show stat -1 2 -1', 2_000));
      const fed = Math.floor((now - WINDOW_MS) / WINDOW_MS) * WINDOW_MS;
      for (const row of rows) {
        if (row.svname !== 'BACKEND' || row.pxname === undefined) continue;
        const now2 = { stot: Number(row.stot ?? 0), errors: Number(row.hrsp_5xx ?? 0) };
        const prev = this.#last.get(row.pxname);
        this.#last.set(row.pxname, now2);
        const pending = this.#pending.get(row.pxname);
        this.#pending.delete(row.pxname);
        if (!prev) continue; // the first read is the baseline
        // A counter that went down is a new worker after a reload: its counters started at zero.
        const requests = now2.stot >= prev.stot ? now2.stot - prev.stot : now2.stot;
        const errors = now2.errors >= prev.errors ? now2.errors - prev.errors : now2.errors;
        if (requests === 0 && errors === 0 && pending === undefined) continue;
        const acc = this.#acc(row.pxname, fed);
        if (!acc) continue;
        acc.requests += requests;
        acc.errors += errors;
        for (const [b, n] of pending ?? []) {
          acc.latency.set(b, (acc.latency.get(b) ?? 0) + n);
          acc.samples += n;
        }
      }
      // Later reads feed later windows (reads are at least a second apart), so this one and all before are final.
      this.#finalThrough = fed;
    } catch (err) {
      this.#opts.logger.warn({ err }, 'could not read haproxy counters');
    } finally {
      this.#reading = false;
    }
  }

  /** Windows whose second has been read to its end (`now` is not needed: the reads decide). */
  drainWindows(_now?: number): MetricWindow[] {
    const out: MetricWindow[] = [];
    const rate = 1 / this.#opts.sampleEvery;
    for (const [key, acc] of this.#windows) {
      if (acc.start > this.#finalThrough) continue;
      this.#windows.delete(key);
      out.push({
        releaseId: acc.releaseId,
        version: acc.version,
        windowStart: acc.start,
        windowMs: WINDOW_MS,
        requests: acc.requests,
        errors: acc.errors,
        latency: fromBucketCounts(trimSamples(acc.latency, acc.samples - acc.requests)),
        feedbackSum: 0,
        feedbackCount: 0,
        ...(rate < 1 ? { latencySampleRate: rate } : {}),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await new Promise<void>((resolve) => this.#udp.close(() => resolve()));
  }
}

/** `latency` without `excess` samples (none when excess <= 0), taken from the fullest buckets. */
function trimSamples(latency: Map<number, number>, excess: number): Map<number, number> {
  for (let left = excess; left > 0;) {
    let fullest: [number, number] | null = null;
    for (const entry of latency) if (fullest === null || entry[1] > fullest[1]) fullest = entry;
    if (fullest === null) break;
    const take = Math.min(left, fullest[1]);
    if (take === fullest[1]) latency.delete(fullest[0]);
    else latency.set(fullest[0], fullest[1] - take);
    left -= take;
  }
  return latency;
}

/**
 * Follows one release until it stops moving (promoted, rolled back, failed or paused) or the
 * caller's signal aborts. Changes are heard on the SSE stream (`GET /api/v1/events`); the
 * release is also polled every few seconds, so a missed event never leaves the CLI hanging.
 * Verdicts and traffic are not on the stream, so they are polled (`/analysis`, `/metrics`).
 */
import type { TernClient } from '../client.js';
import { ApiError, UnreachableError } from '../errors.js';
import type { ChangeEventView, ReleaseView, VerdictView } from '../views.js';
import { outcomeOf } from './outcome.js';
import { followEventStream, sleep } from './sse.js';
import { createTrafficTally, type VersionTraffic } from './traffic.js';

/** What the watcher knows at one moment. */
export interface Snapshot {
  readonly release: ReleaseView;
  /** The judge's latest verdict (null before the first). */
  readonly verdict: VerdictView | null;
  /** Totals per version, canary first; null when traffic is not followed. */
  readonly traffic: readonly VersionTraffic[] | null;
}

export interface FollowOptions {
  readonly client: TernClient;
  readonly releaseId: string;
  /** Stops following (Ctrl-C, `--timeout`); `follow` then resolves with the last snapshot. */
  readonly signal: AbortSignal;
  /** Called with every fresh snapshot (also unchanged ones: a live view redraws its clock). */
  readonly onSnapshot: (snapshot: Snapshot) => void;
  /** Something a person should know that is not a change: the stream dropped, the server is unreachable. */
  readonly onNotice?: (text: string) => void;
  /** Also follow per-version request and error totals. Default false. */
  readonly traffic?: boolean;
  /** Fallback poll of the release, in ms. Default 3000. */
  readonly pollMs?: number;
  /** How often verdicts (and traffic) are re-read, in ms. Default 2000. */
  readonly evidenceMs?: number;
  /** How long the server may stay unreachable (or answer 5xx) before the watch gives up. Default 2 min. */
  readonly giveUpMs?: number;
  /**
   * The server has already answered (the release was just started): ride out failures from the
   * first read on. Otherwise a first read that fails ends the watch at once (a wrong --url).
   */
  readonly connected?: boolean;
  readonly now?: () => number;
}

/**
 * Resolves with the last snapshot once the release ended or paused, or `signal` aborted.
 * @throws ApiError for a 4xx (unknown release, revoked token); UnreachableError or ApiError (5xx)
 * when the server stayed unreachable for `giveUpMs`, or did not answer the first read (unless `connected`).
 */
export async function follow(options: FollowOptions): Promise<Snapshot | null> {
  const { client, releaseId, signal } = options;
  const now = options.now ?? Date.now;
  const wake = createWake();
  const listening = listen(options, wake.ring);
  const evidence = createEvidenceReader(options);
  const retry = createRetry(options, now);
  let last: Snapshot | null = null;
  try {
    while (!signal.aborted) {
      const release = await retry.attempt(() => client.getRelease(releaseId, { signal }));
      if (release) {
        const moved: boolean = !last || last.release.status !== release.status || last.release.stepIndex !== release.stepIndex;
        last = { release, ...(await evidence.read(moved || outcomeOf(release.status) !== null)) };
        options.onSnapshot(last);
        if (outcomeOf(release.status) !== null) return last;
      }
      await wake.wait(options.pollMs ?? 3000, signal);
    }
    return last;
  } finally {
    await listening.stop();
  }
}

/**
 * Follows the event stream, calling `ring` on each change to the release and on each
 * (re)connect (changes made while it was down are read then). Warns once per drop.
 */
function listen(options: FollowOptions, ring: () => void): { stop(): Promise<void> } {
  const stream = new AbortController();
  let up = true;
  const streaming = followEventStream({
    client: options.client,
    signal: AbortSignal.any([options.signal, stream.signal]),
    onOpen: () => {
      up = true;
      ring();
    },
    onDrop: (reason) => {
      if (up) options.onNotice?.(`event stream dropped (${reason}); reconnecting, and polling meanwhile`);
      up = false;
    },
    onEvent: (data) => {
      const e = data as Partial<ChangeEventView>;
      if (e.kind === 'release' && e.id === options.releaseId) ring();
    },
  });
  return {
    stop: async () => {
      stream.abort();
      await streaming;
    },
  };
}

/** Reads verdicts (and traffic) at most every `evidenceMs`, or at once when `force`d. */
function createEvidenceReader(options: FollowOptions) {
  const { client, releaseId, signal } = options;
  const now = options.now ?? Date.now;
  const tally = options.traffic ? createTrafficTally() : null;
  let readAt = -Infinity;
  let verdict: VerdictView | null = null;
  return {
    async read(force: boolean): Promise<Pick<Snapshot, 'verdict' | 'traffic'>> {
      if (force || now() - readAt >= (options.evidenceMs ?? 2000)) {
        readAt = now();
        // Evidence is a nicety: a failed read keeps the previous one rather than ending the watch.
        const [analysis] = await Promise.all([
          client.getReleaseAnalysis(releaseId, { signal }).catch(() => null),
          tally?.refresh((since) => client.getReleaseMetrics(releaseId, { signal, since })).catch(() => undefined),
        ]);
        if (analysis) verdict = analysis.verdicts[0] ?? null;
      }
      return { verdict, traffic: tally?.totals() ?? null };
    },
  };
}

/**
 * Runs reads, riding out an unreachable server or 5xx answers (one notice, then quiet) for up
 * to `giveUpMs`; resolves undefined for a failed attempt, or when `signal` aborted it.
 */
function createRetry(options: FollowOptions, now: () => number) {
  let failingSince: number | null = null;
  let answered = options.connected ?? false;
  return {
    async attempt<T>(read: () => Promise<T>): Promise<T | undefined> {
      try {
        const value = await read();
        if (failingSince !== null) options.onNotice?.('the server answers again');
        failingSince = null;
        answered = true;
        return value;
      } catch (err) {
        if (options.signal.aborted) return undefined;
        const transient = err instanceof UnreachableError || (err instanceof ApiError && err.status >= 500);
        if (!transient || !answered) throw err;
        if (failingSince === null) {
          failingSince = now();
          options.onNotice?.(`${err.message}; retrying`);
        } else if (now() - failingSince >= (options.giveUpMs ?? 120_000)) {
          throw err;
        }
        return undefined;
      }
    },
  };
}

/** A doorbell: `ring` cuts the current (or next) `wait` short. */
function createWake() {
  let rung = false;
  let interrupt: (() => void) | null = null;
  return {
    ring: (): void => {
      rung = true;
      interrupt?.();
    },
    async wait(ms: number, signal: AbortSignal): Promise<void> {
      if (rung) {
        rung = false;
        return;
      }
      const cut = new AbortController();
      interrupt = () => cut.abort();
      await sleep(ms, AbortSignal.any([signal, cut.signal]));
      interrupt = null;
      rung = false;
    },
  };
}

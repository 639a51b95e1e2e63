/**
 * The process driver's in-memory state, owned here alone: the launches this controller has in
 * progress (instances spawned, not yet ready or failed) and the retirements it is running. All
 * else lives in the store (the release's deployment) and in instances.json, so a restarted
 * controller loses nothing but what this object holds, which the driver's `stop()` settles first.
 */
import type { ChildProcess } from 'node:child_process';
import type { Spawned } from './spawn.js';

/** One release's launch: what was spawned, whether it is recorded on the release, and how it ended. */
export interface Launch {
  readonly spawned: Spawned[];
  /** The instances are recorded on the release (a restarted controller will find them). */
  persisted: boolean;
  /** null while instances are starting; then null-reason for ready, or why not. */
  outcome: { readonly reason: string | null } | null;
}

export class LaunchState {
  readonly #launches = new Map<string, Launch>();
  readonly #retiring = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  /** Aborted by stop(): readiness waits give up. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Starts tracking a new launch of `releaseId`'s instances. */
  open(releaseId: string): Launch {
    const launch: Launch = { spawned: [], persisted: false, outcome: null };
    this.#launches.set(releaseId, launch);
    return launch;
  }

  get(releaseId: string): Launch | undefined {
    return this.#launches.get(releaseId);
  }

  /** Forgets a launch that has ended (its outcome taken, or its instances stopped). */
  end(releaseId: string): void {
    this.#launches.delete(releaseId);
  }

  /** The child processes this controller spawned for the release: their pids need no ownership check. */
  children(releaseId: string): ChildProcess[] {
    return this.#launches.get(releaseId)?.spawned.map((s) => s.child) ?? [];
  }

  /** Whether this controller is launching or retiring the release's instances right now. */
  busy(releaseId: string): boolean {
    return this.#launches.has(releaseId) || this.#retiring.has(releaseId);
  }

  /** Runs `job` unless a retirement of the release is running, which the caller then joins. */
  retireOnce(releaseId: string, job: () => Promise<void>): Promise<void> {
    const running = this.#retiring.get(releaseId);
    if (running) return running;
    const started = job().finally(() => this.#retiring.delete(releaseId));
    this.#retiring.set(releaseId, started);
    return started;
  }

  /** Aborts readiness waits; returns the launches never recorded on their release (their instances are nobody's yet). */
  abort(): Array<[releaseId: string, launch: Launch]> {
    this.#abort.abort();
    return [...this.#launches].filter(([, launch]) => !launch.persisted);
  }

  /** Forgets every launch; settles once every running retirement has. */
  async drain(): Promise<void> {
    this.#launches.clear();
    await Promise.all(this.#retiring.values());
  }
}

/**
 * The machinery every Store method shares: run a query or a write transaction, turn driver
 * failures into StoreError, publish a committed change to subscribers (and, through a change
 * feed, to other processes sharing the database), and let `close()` wait for the work already
 * started.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { StoreError, TernError } from '../../core/errors.js';
import type { Clock } from '../../core/types.js';
import type { StoreChange } from '../store.js';
import type { ChangeFeed } from './change-feed.js';
import type { StoreDialect } from './dialect.js';
import type { Database } from './schema.js';

/** What a write transaction returns: its result and, when it changed state, the change to publish. */
export interface Written<T> {
  readonly value: T;
  readonly change?: StoreChange;
}

type Listener = (change: StoreChange) => void;

export interface StoreRuntime {
  readonly dialect: StoreDialect;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  /** Runs single statements outside an explicit transaction (reads, one-statement writes). */
  query<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Runs several reads over one consistent snapshot. */
  snapshot<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Runs `fn` in one write transaction; publishes its change after the commit. */
  write<T>(fn: (trx: Kysely<Database>) => Promise<Written<T>>): Promise<T>;
  /** Calls caller-supplied code; whatever it throws propagates unchanged (never wrapped). */
  callerCode<T>(fn: () => T): T;
  subscribe(listener: Listener): () => void;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  /** Carries changes to and from other processes sharing the database; closed by `close()`. */
  readonly feed?: ChangeFeed | undefined;
}

/** Builds the runtime over an open Kysely instance; `close()` destroys it. */
export function createRuntime(db: Kysely<Database>, dialect: StoreDialect, options: RuntimeOptions): StoreRuntime {
  const listeners = new Set<Listener>();
  const inFlight = new Set<Promise<unknown>>();
  const callerErrors = new WeakSet<object>();
  const logger = options.logger;
  const feed = options.feed;
  let closing: Promise<void> | undefined;

  function classify(err: unknown): unknown {
    if (err instanceof TernError || (typeof err === 'object' && err !== null && callerErrors.has(err))) return err;
    if (dialect.isUnavailable(err)) {
      return new StoreError(`the store is unavailable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return err;
  }

  function run<T>(op: () => Promise<T>): Promise<T> {
    if (closing) return Promise.reject(new StoreError('the store is closed'));
    const promise = op().catch((err: unknown) => {
      throw classify(err);
    });
    inFlight.add(promise);
    const forget = (): void => void inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  function publish(change: StoreChange): void {
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch (err) {
        // A subscriber's bug must not undo or fail a committed change.
        logger?.error({ err, action: change.action }, 'store subscriber threw');
      }
    }
  }

  feed?.deliverTo(publish);

  /** Closes the feed (it may still be reading for a delivery) before the connections go. */
  async function shutdown(): Promise<void> {
    await Promise.allSettled([...inFlight]);
    try {
      await feed?.close();
    } finally {
      await db.destroy();
    }
  }

  return {
    dialect,
    clock: options.clock,
    logger,
    query: (fn) => run(() => fn(db)),
    snapshot: (fn) => run(() => dialect.readSnapshot(db, fn)),
    write: (fn) =>
      run(async () => {
        const { value, change } = await dialect.writeTransaction(db, async (trx) => {
          const written = await fn(trx);
          if (written.change && feed) await feed.announce(trx, written.change);
          return written;
        });
        if (change) publish(change);
        return value;
      }),
    callerCode(fn) {
      try {
        return fn();
      } catch (err) {
        if (typeof err === 'object' && err !== null) callerErrors.add(err);
        throw err;
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

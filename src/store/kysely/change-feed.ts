/**
 * How a Store hears of changes committed by OTHER processes sharing its database (several
 * controllers on one PostgreSQL). Its own changes it publishes itself, right after commit;
 * a feed carries the rest. SQLite needs none: it is one process's database in practice, and
 * its multi-process use (tests, a CLI beside the server) does not need live change events.
 */
import type { Kysely } from 'kysely';
import type { StoreChange } from '../store.js';
import type { Database } from './schema.js';

export interface ChangeFeed {
  /**
   * Runs inside the write transaction that made `change`, as its last statement, so other
   * processes hear of the change exactly when, and only if, it commits.
   */
  announce(trx: Kysely<Database>, change: StoreChange): Promise<void>;
  /** Hands the feed the function that delivers another process's change to this store's subscribers. */
  deliverTo(publish: (change: StoreChange) => void): void;
  /** Stops listening; called by the store's close() after its own writes have finished. */
  close(): Promise<void>;
}

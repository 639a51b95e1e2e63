/**
 * The shape of one schema migration. Migrations are append-only history: once released, a
 * migration never changes; a schema change is a new migration with the next version.
 */
import type { Kysely } from 'kysely';

/** The SQL dialects the store runs on; migrations branch on it only where syntax differs. */
export type DialectName = 'sqlite' | 'postgres';

export interface Migration {
  /** Strictly increasing, starting at 1. */
  readonly version: number;
  readonly name: string;
  /** Applies the change; runs inside the migration transaction. */
  up(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
}

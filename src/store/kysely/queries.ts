/**
 * Kysely queries shared by several Store methods and by every dialect: lookups (with row
 * locks where the dialect has them), the audit insert, and the routing version counter. Each
 * takes the executor it runs on, so inside a write transaction it must be given the transaction.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { NotFoundError } from '../../core/errors.js';
import { ACTIVE_STATUSES } from '../../core/release-state.js';
import type { AuditEvent, AuditInput, Release, Service } from '../../core/types.js';
import type { StoreChange } from '../store.js';
import { auditRow, toRelease, toService } from './rows.js';
import type { StoreRuntime } from './runtime.js';
import type { Database } from './schema.js';

type Db = Kysely<Database>;

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** A caller's page size, defaulted and capped. */
export function pageSize(limit: number | undefined, fallback = DEFAULT_LIMIT, max = MAX_LIMIT): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(Math.max(1, Math.floor(limit)), max);
}

/**
 * A row lock a read inside a write transaction takes on PostgreSQL, whose READ COMMITTED
 * writers otherwise run side by side (https://www.postgresql.org/docs/15/explicit-locking.html#LOCKING-ROWS):
 * - `no key update`: this transaction will rewrite the row (not its key); waits for other writers of it;
 * - `update`: this transaction will delete the row;
 * - `share`: the row must not change until commit (what we derive from it stays true);
 * - `key share`: the row must not be deleted until commit (we insert rows that reference it).
 * A locking read that waited sees the row as the other transaction committed it, or no row
 * if it was deleted. SQLite has no row locks; its write transaction already excludes every
 * other writer, so there `lockFor` gives none.
 */
export type RowLock = 'no key update' | 'update' | 'share' | 'key share';

/** `lock` where the dialect has row locks, else undefined. */
export function lockFor(rt: StoreRuntime, lock: RowLock): RowLock | undefined {
  return rt.dialect.rowLocks ? lock : undefined;
}

interface Lockable<Q> {
  forUpdate(): Q;
  forNoKeyUpdate(): Q;
  forShare(): Q;
  forKeyShare(): Q;
}

/** Adds the `for ...` clause of `lock` to a select. */
export function withLock<Q extends Lockable<Q>>(query: Q, lock: RowLock | undefined): Q {
  switch (lock) {
    case undefined:
      return query;
    case 'no key update':
      return query.forNoKeyUpdate();
    case 'update':
      return query.forUpdate();
    case 'share':
      return query.forShare();
    case 'key share':
      return query.forKeyShare();
    default: {
      const unknown: never = lock;
      throw new Error(`unknown row lock ${String(unknown)}`);
    }
  }
}

export async function findService(db: Db, name: string, lock?: RowLock): Promise<Service | undefined> {
  const row = await withLock(db.selectFrom('services').selectAll().where('name', '=', name), lock).executeTakeFirst();
  return row && toService(row);
}

/** With a `lock`, racing writers of one release serialize on its row (see RowLock). */
export async function findRelease(db: Db, id: string, lock?: RowLock): Promise<Release | undefined> {
  const row = await withLock(db.selectFrom('releases').selectAll().where('id', '=', id), lock).executeTakeFirst();
  return row && toRelease(row);
}

export function releaseNotFound(id: string): NotFoundError {
  return new NotFoundError('TERN_RELEASE_NOT_FOUND', `release ${id} does not exist`, { details: { release: id } });
}

export async function findActiveRelease(db: Db, service: string): Promise<Release | undefined> {
  const row = await db
    .selectFrom('releases')
    .selectAll()
    .where('service', '=', service)
    .where('status', 'in', ACTIVE_STATUSES)
    .executeTakeFirst();
  return row && toRelease(row);
}

/** Inserts an audit event, its time from the clock when the caller gave none; returns it as stored. */
export async function insertAudit(db: Db, input: AuditInput, service: string | null, now: number): Promise<AuditEvent> {
  const event: Omit<AuditEvent, 'id'> = {
    at: input.at ?? now,
    actor: input.actor,
    source: input.source,
    action: input.action,
    target: input.target,
    service,
    outcome: input.outcome,
    reason: input.reason,
    detail: input.detail,
  };
  const row = await db.insertInto('audit_events').values(auditRow(event)).returning('id').executeTakeFirstOrThrow();
  return { id: Number(row.id), ...event };
}

export async function readRoutingVersion(db: Db): Promise<number> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', 'routing_version').executeTakeFirstOrThrow();
  return Number(row.value);
}

/** Increments the routing version in place (atomic on every dialect); returns the new one. */
export async function bumpRoutingVersion(db: Db): Promise<number> {
  const row = await db
    .updateTable('meta')
    .set({ value: sql<string>`cast(cast(value as bigint) + 1 as text)` })
    .where('key', '=', 'routing_version')
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

export interface ChangeSpec {
  readonly kind: StoreChange['kind'];
  readonly id: string;
  readonly service: string | null;
  readonly audit: AuditInput;
  /** Whether the change affects routing (bumps the routing version). */
  readonly routing: boolean;
}

/** Writes the change's audit event (and routing bump) in the caller's transaction; returns what to publish. */
export async function recordChange(trx: Db, rt: StoreRuntime, spec: ChangeSpec): Promise<StoreChange> {
  const audit = await insertAudit(trx, spec.audit, spec.service, rt.clock());
  const routingVersion = spec.routing ? await bumpRoutingVersion(trx) : await readRoutingVersion(trx);
  return { kind: spec.kind, action: audit.action, id: spec.id, service: spec.service, routingVersion, audit };
}

/**
 * Kysely queries shared by several Store methods and by every dialect: lookups, the audit
 * insert, and the routing version counter. Each takes the executor it runs on, so inside a
 * write transaction it must be given the transaction.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
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

export async function findService(db: Db, name: string): Promise<Service | undefined> {
  const row = await db.selectFrom('services').selectAll().where('name', '=', name).executeTakeFirst();
  return row && toService(row);
}

/** `lock` takes a row lock where the dialect has them, so racing writers serialize on the release. */
export async function findRelease(db: Db, id: string, lock = false): Promise<Release | undefined> {
  const row = await db
    .selectFrom('releases')
    .selectAll()
    .where('id', '=', id)
    .$if(lock, (q) => q.forUpdate())
    .executeTakeFirst();
  return row && toRelease(row);
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

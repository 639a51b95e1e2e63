/**
 * Store methods for releases: start one (one active per service, enforced twice: by a check
 * and by a partial unique index), read them, and apply state-machine changes atomically with
 * their audit event; promotion makes the canary the service's stable version. What a release
 * becomes is computed by core/release-rules.ts; these methods only persist it and its effects.
 */
import type { Kysely } from 'kysely';
import { liveCarriers } from '../../core/data-plane.js';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { ACTIVE_STATUSES } from '../../core/release-state.js';
import { appliedAtWrite, nextRelease } from '../../core/release-rules.js';
import { CURRENT_BUCKET_HASH } from '../../core/sticky.js';
import type { AuditInput, BucketHash, Release } from '../../core/types.js';
import type { ReleaseInput, Store } from '../store.js';
import { readDataPlanes } from './data-planes.js';
import { findActiveRelease, findRelease, findService, lockFor, pageSize, recordChange, releaseNotFound } from './queries.js';
import { releaseRow, toJson, toRelease } from './rows.js';
import type { StoreRuntime } from './runtime.js';
import type { Database } from './schema.js';

type ReleaseOperations = Pick<Store, 'createRelease' | 'getRelease' | 'listReleases' | 'updateRelease'>;

function releaseActive(service: string, activeId: string | undefined, cause?: unknown): ConflictError {
  const which = activeId ? `release ${activeId} is` : 'another release is';
  return new ConflictError(
    'TERN_RELEASE_ACTIVE',
    `service ${service}: ${which} already in progress; only one release per service runs at a time`,
    {
      cause,
      details: { service, ...(activeId ? { release: activeId } : {}) },
    },
  );
}

/** Copies only the fields a ReleaseInput has, so extra input fields never reach the database; the bucket hash defaults to xxh32. */
function pickInput(input: ReleaseInput): ReleaseInput & { bucketHash: BucketHash } {
  const { id, service, version, endpoints, status, stepIndex, weight, salt, steps, analysis, metadata, createdBy, startedAt } = input;
  const extras = {
    webhooks: input.webhooks ?? [],
    deployment: input.deployment ?? null,
    bucketHash: input.bucketHash ?? CURRENT_BUCKET_HASH,
  };
  return { id, service, version, endpoints, status, stepIndex, weight, salt, steps, analysis, metadata, ...extras, createdBy, startedAt };
}

/** How many live data planes carry `service` (a weight written for it waits for their confirmation). */
async function liveCarrierCount(trx: Kysely<Database>, service: string, now: number): Promise<number> {
  return liveCarriers(await readDataPlanes(trx), service, now).length;
}

/** Records the routing version a weight was written with. */
async function setRoutingVersion(trx: Kysely<Database>, id: string, version: number): Promise<void> {
  await trx.updateTable('releases').set({ routing_version: version }).where('id', '=', id).execute();
}

/** Release methods over the shared runtime. */
export function releaseOperations(rt: StoreRuntime): ReleaseOperations {
  return {
    createRelease: (input, audit) =>
      rt.write(async (trx) => {
        // Shared lock: the service's stable version (the baseline) and its existence hold until
        // commit; concurrent starts share it and meet at the one-active index instead.
        const service = await findService(trx, input.service, lockFor(rt, 'share'));
        if (!service)
          throw new NotFoundError('TERN_SERVICE_NOT_FOUND', `service ${input.service} does not exist`, {
            details: { service: input.service },
          });
        const active = await findActiveRelease(trx, input.service);
        if (active) throw releaseActive(input.service, active.id);
        if (input.version === service.stable.version) {
          throw new ConflictError(
            'TERN_VERSION_IS_STABLE',
            `version ${input.version} is already the stable version of service ${input.service}`,
            {
              details: { service: input.service, version: input.version },
            },
          );
        }
        const now = rt.clock();
        const fresh: Release = {
          ...pickInput(input),
          baseline: service.stable,
          stepStartedAt: input.startedAt,
          routingVersion: null,
          updatedAt: now,
          endedAt: null,
          reason: null,
        };
        const created = { ...fresh, stepAppliedAt: appliedAtWrite(null, fresh, await liveCarrierCount(trx, input.service, now)) };
        try {
          await trx.insertInto('releases').values(releaseRow(created)).execute();
        } catch (err) {
          // The partial unique index caught a concurrent start our check could not see (PostgreSQL).
          if (rt.dialect.isUniqueViolation(err)) throw releaseActive(input.service, undefined, err);
          throw err;
        }
        const change = await recordChange(trx, rt, { kind: 'release', id: created.id, service: created.service, audit, routing: true });
        await setRoutingVersion(trx, created.id, change.routingVersion);
        return { value: { ...created, routingVersion: change.routingVersion }, change };
      }),

    getRelease: (id) => rt.query((db) => findRelease(db, id)),

    listReleases: (filter) =>
      rt.query(async (db) => {
        const rows = await db
          .selectFrom('releases')
          .selectAll()
          .$if(filter.service !== undefined, (q) => q.where('service', '=', filter.service ?? ''))
          .$if(filter.active !== undefined, (q) => q.where('status', filter.active ? 'in' : 'not in', ACTIVE_STATUSES))
          .orderBy('started_at', 'desc')
          .orderBy('id', 'desc')
          .limit(pageSize(filter.limit))
          .execute();
        return rows.map(toRelease);
      }),

    updateRelease: (id, change, audit) =>
      rt.write(async (trx) => {
        const current = await findRelease(trx, id, lockFor(rt, 'no key update'));
        if (!current) throw releaseNotFound(id);
        const now = rt.clock();
        // The rules are core's (release-rules.ts); this only persists what they return.
        const proposed = rt.callerCode(() => change(current));
        const computed = nextRelease(current, proposed, now, await liveCarrierCount(trx, current.service, now));
        const { effects } = computed;
        let next = computed.release;
        const auditInput: AuditInput = typeof audit === 'function' ? rt.callerCode(() => audit(next)) : audit;
        await writeRelease(rt, trx, next);
        if (effects.promoted) {
          await trx
            .updateTable('services')
            .set({ stable_version: next.version, stable_endpoints: toJson(next.endpoints), updated_at: next.updatedAt })
            .where('name', '=', next.service)
            .execute();
        }
        if (effects.ended) {
          // An ended release raises no more alarms: its open alerts close with it.
          await trx
            .updateTable('alerts')
            .set({ resolved_at: next.updatedAt })
            .where('release_id', '=', id)
            .where('resolved_at', 'is', null)
            .execute();
        }
        const changed = await recordChange(trx, rt, {
          kind: 'release',
          id,
          service: next.service,
          audit: auditInput,
          routing: effects.routing,
        });
        if (effects.usersMoved) {
          await setRoutingVersion(trx, id, changed.routingVersion);
          next = { ...next, routingVersion: changed.routingVersion };
        }
        return { value: next, change: changed };
      }),
  };
}

/** Writes every mutable column; a reactivated release hitting the one-active index is a conflict. */
async function writeRelease(rt: StoreRuntime, trx: Kysely<Database>, next: Release): Promise<void> {
  const { id: _id, service: _service, created_by: _by, started_at: _started, ...columns } = releaseRow(next);
  try {
    await trx.updateTable('releases').set(columns).where('id', '=', next.id).execute();
  } catch (err) {
    if (rt.dialect.isUniqueViolation(err)) throw releaseActive(next.service, undefined, err);
    throw err;
  }
}

/**
 * Store methods for services: create, read, update (stable pinned while a release runs),
 * delete (with its release history; audit events stay, they are append-only).
 */
import { STATIC_DEPLOY } from '../../core/deploy.js';
import { BUILTIN_METRICS } from '../../core/metrics-config.js';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { Service, VersionSpec } from '../../core/types.js';
import type { ServiceInput, Store } from '../store.js';
import { findActiveRelease, findService, lockFor, recordChange } from './queries.js';
import { serviceRow, toService } from './rows.js';
import type { StoreRuntime } from './runtime.js';

type ServiceOperations = Pick<Store, 'createService' | 'listServices' | 'getService' | 'updateService' | 'deleteService'>;

const exists = (name: string, cause?: unknown): ConflictError =>
  new ConflictError('TERN_SERVICE_EXISTS', `service ${name} already exists`, { cause, details: { service: name } });
const notFound = (name: string): NotFoundError =>
  new NotFoundError('TERN_SERVICE_NOT_FOUND', `service ${name} does not exist`, { details: { service: name } });

/** Copies only the fields a Service has, so extra input fields never reach the database. */
function toStoredService(input: ServiceInput, createdAt: number, updatedAt: number): Service {
  return {
    name: input.name,
    match: input.match,
    stickiness: input.stickiness,
    stable: { version: input.stable.version, endpoints: input.stable.endpoints },
    rules: input.rules,
    webhooks: input.webhooks ?? [],
    deploy: input.deploy ?? STATIC_DEPLOY,
    metrics: input.metrics ?? BUILTIN_METRICS,
    createdAt,
    updatedAt,
  };
}

function sameVersion(a: VersionSpec, b: VersionSpec): boolean {
  return a.version === b.version && JSON.stringify(a.endpoints) === JSON.stringify(b.endpoints);
}

/** Service methods over the shared runtime. */
export function serviceOperations(rt: StoreRuntime): ServiceOperations {
  return {
    createService: (input, audit) =>
      rt.write(async (trx) => {
        if (await findService(trx, input.name)) throw exists(input.name);
        const now = rt.clock();
        const service = toStoredService(input, now, now);
        try {
          await trx.insertInto('services').values(serviceRow(service)).execute();
        } catch (err) {
          // Another writer (PostgreSQL, no write lock) created it between our check and insert.
          if (rt.dialect.isUniqueViolation(err)) throw exists(input.name, err);
          throw err;
        }
        const change = await recordChange(trx, rt, { kind: 'service', id: service.name, service: service.name, audit, routing: true });
        return { value: service, change };
      }),

    listServices: () => rt.query(async (db) => (await db.selectFrom('services').selectAll().orderBy('name').execute()).map(toService)),

    getService: (name) => rt.query((db) => findService(db, name)),

    updateService: (name, patch, audit) =>
      rt.write(async (trx) => {
        // Locked: a concurrent update would otherwise be lost (this writes every column back),
        // and a release starting meanwhile must be seen by the check below.
        const current = await findService(trx, name, lockFor(rt, 'no key update'));
        if (!current) throw notFound(name);
        if (patch.stable && !sameVersion(patch.stable, current.stable)) {
          const active = await findActiveRelease(trx, name);
          if (active) {
            throw new ConflictError(
              'TERN_RELEASE_ACTIVE',
              `service ${name} has release ${active.id} in progress; its stable version changes only by promotion`,
              {
                details: { service: name, release: active.id },
              },
            );
          }
        }
        const next = toStoredService({ ...current, ...patch, name }, current.createdAt, rt.clock());
        const { name: _name, created_at: _created, ...columns } = serviceRow(next);
        await trx.updateTable('services').set(columns).where('name', '=', name).execute();
        const change = await recordChange(trx, rt, { kind: 'service', id: name, service: name, audit, routing: true });
        return { value: next, change };
      }),

    deleteService: (name, audit) =>
      rt.write(async (trx) => {
        if (!(await findService(trx, name, lockFor(rt, 'update')))) throw notFound(name);
        const active = await findActiveRelease(trx, name);
        if (active) {
          throw new ConflictError(
            'TERN_RELEASE_ACTIVE',
            `service ${name} has release ${active.id} in progress; roll it back or promote it before deleting the service`,
            {
              details: { service: name, release: active.id },
            },
          );
        }
        const releaseIds = trx.selectFrom('releases').select('id').where('service', '=', name);
        await trx.deleteFrom('metric_windows').where('release_id', 'in', releaseIds).execute();
        await trx.deleteFrom('alerts').where('release_id', 'in', releaseIds).execute();
        await trx.deleteFrom('analysis_verdicts').where('release_id', 'in', releaseIds).execute();
        await trx.deleteFrom('feedback').where('service', '=', name).execute();
        await trx.deleteFrom('releases').where('service', '=', name).execute();
        await trx.deleteFrom('services').where('name', '=', name).execute();
        const change = await recordChange(trx, rt, { kind: 'service', id: name, service: name, audit, routing: true });
        return { value: undefined, change };
      }),
  };
}

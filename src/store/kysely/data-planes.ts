/**
 * Store methods for the data-plane registry: each data plane's latest status report, upserted
 * on every heartbeat (one statement, no audit event, no routing-version bump: heartbeats from
 * many gateways every few seconds must stay cheap), and the list the controller and API read.
 */
import type { Kysely, Selectable } from 'kysely';
import type { DataPlane, DataPlaneKind } from '../../core/data-plane.js';
import type { Store } from '../store.js';
import { readRoutingVersion } from './queries.js';
import type { StoreRuntime } from './runtime.js';
import type { Database, DataPlanesTable } from './schema.js';

type DataPlaneOperations = Pick<Store, 'reportDataPlane' | 'listDataPlanes'>;

function toDataPlane(row: Selectable<DataPlanesTable>): DataPlane {
  return {
    name: row.name,
    kind: row.kind as DataPlaneKind,
    appliedVersion: Number(row.applied_version),
    features: JSON.parse(row.features) as DataPlane['features'],
    services: row.services === null ? null : (JSON.parse(row.services) as string[]),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    leftAt: row.left_at === null ? null : Number(row.left_at),
  };
}

/** Every data plane that ever reported, by name (the executor may be a write transaction). */
export async function readDataPlanes(db: Kysely<Database>): Promise<DataPlane[]> {
  return (await db.selectFrom('data_planes').selectAll().orderBy('name').execute()).map(toDataPlane);
}

/** Data-plane methods over the shared runtime. */
export function dataPlaneOperations(rt: StoreRuntime): DataPlaneOperations {
  return {
    reportDataPlane: (report) =>
      rt.query(async (db) => {
        const now = rt.clock();
        const features = JSON.stringify({
          regexRules: report.features.regexRules,
          equalsRules: report.features.equalsRules,
          websocket: report.features.websocket,
          bucketHashes: [...report.features.bucketHashes],
        });
        const columns = {
          kind: report.kind,
          applied_version: report.appliedVersion,
          features,
          services: report.services === null ? null : JSON.stringify(report.services),
          last_seen: now,
          left_at: report.leaving === true ? now : null,
        };
        const previous = await db.selectFrom('data_planes').select('name').where('name', '=', report.name).executeTakeFirst();
        await db
          .insertInto('data_planes')
          .values({ name: report.name, first_seen: now, ...columns })
          .onConflict((oc) => oc.column('name').doUpdateSet(columns))
          .execute();
        return { routingVersion: await readRoutingVersion(db), firstReport: previous === undefined };
      }),
    listDataPlanes: () => rt.query(readDataPlanes),
  };
}

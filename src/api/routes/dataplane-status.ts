/**
 * The data-plane registry's routes: each data plane (built-in gateway, `tern agent haproxy|nginx`)
 * reports the routing version it has applied after every apply and every 5 s; the list shows
 * which are live, stale or gone, how far behind each is, and the services it cannot execute.
 */
import { DATA_PLANE_LIVE_MS, dataPlaneState } from '../../core/data-plane.js';
import { iso, isoOrNull } from '../input.js';
import { unsupportedServices } from '../dataplane-check.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES } from '../schemas/common.js';
import { DataPlaneList, DataPlaneStatus, DataPlaneStatusAccepted } from '../schemas/dataplane.js';

const TAGS = ['data plane'];

/** Registers `POST /api/v1/dataplane/status` and `GET /api/v1/dataplanes`. */
export function registerDataplaneStatusRoutes(app: TernApp, { store, clock }: ApiDeps): void {
  app.post(
    '/api/v1/dataplane/status',
    {
      config: { access: 'dataplane', audit: { action: 'dataplane.status', target: 'dataplane/{body.dataPlane}', failuresOnly: true } },
      schema: {
        tags: TAGS,
        summary:
          "Report the routing version a data plane has applied (after every apply, and every 5 s as a heartbeat; `leaving` on a clean stop). A step's hold starts once every live data plane carrying the service has applied its weight.",
        body: DataPlaneStatus,
        response: { 202: DataPlaneStatusAccepted, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const report = { name: b.dataPlane, kind: b.kind, appliedVersion: b.appliedVersion, features: b.features, services: b.services };
      const { routingVersion, firstReport } = await store.reportDataPlane(b.leaving === true ? { ...report, leaving: true } : report);
      if (firstReport) {
        const registered = (await store.listDataPlanes()).find((dp) => dp.name === b.dataPlane);
        const unsupported = registered ? unsupportedServices(registered, await store.routingTable()) : [];
        const log = { dataPlane: b.dataPlane, kind: b.kind, services: b.services, unsupported };
        if (unsupported.length > 0) request.log.warn(log, 'a new data plane cannot execute services it carries');
        else request.log.info(log, 'a new data plane reported');
      }
      return reply.code(202).send({ routingVersion });
    },
  );

  app.get(
    '/api/v1/dataplanes',
    {
      config: { access: 'read' },
      schema: {
        tags: TAGS,
        summary: `The data planes that reported: live (a report under ${DATA_PLANE_LIVE_MS / 1000} s old), stale, or left; the routing version each applied and the services each cannot execute`,
        response: { 200: DataPlaneList, ...ERROR_RESPONSES },
      },
    },
    async () => {
      const now = clock();
      const [dataPlanes, table] = await Promise.all([store.listDataPlanes(), store.routingTable()]);
      return {
        liveMs: DATA_PLANE_LIVE_MS,
        routingVersion: table.version,
        dataPlanes: dataPlanes.map((dp) => ({
          name: dp.name,
          kind: dp.kind,
          state: dataPlaneState(dp, now),
          appliedVersion: dp.appliedVersion,
          behind: Math.max(0, table.version - dp.appliedVersion),
          features: { ...dp.features, bucketHashes: [...dp.features.bucketHashes] },
          services: dp.services === null ? null : [...dp.services],
          firstSeen: iso(dp.firstSeen),
          lastSeen: iso(dp.lastSeen),
          leftAt: isoOrNull(dp.leftAt),
          unsupported: unsupportedServices(dp, table),
        })),
      };
    },
  );
}

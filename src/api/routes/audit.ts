/** `GET /api/v1/audit`: the audit log, newest first, filtered by service, actor, action and time. */
import type { AuditFilter } from '../../store/store.js';
import { parseSince } from '../input.js';
import { auditJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { AuditList, AuditQuery } from '../schemas/audit.js';
import { ERROR_RESPONSES } from '../schemas/common.js';

/** Registers the audit route. */
export function registerAuditRoutes(app: TernApp, { store }: ApiDeps): void {
  app.get(
    '/api/v1/audit',
    {
      config: { access: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        querystring: AuditQuery,
        response: { 200: AuditList, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query;
      const filter: AuditFilter = {
        ...(q.service === undefined ? {} : { service: q.service }),
        ...(q.actor === undefined ? {} : { actor: q.actor }),
        ...(q.action === undefined ? {} : { action: q.action }),
        ...(q.since === undefined ? {} : { since: parseSince(q.since) }),
        limit: q.limit ?? 100,
      };
      return { events: (await store.listAudit(filter)).map(auditJson) };
    },
  );
}

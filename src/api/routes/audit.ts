/**
 * `GET /api/v1/audit`: the audit log, newest first, filtered by service, actor, action and time;
 * `GET /api/v1/audit/export`: the verifiable JSON-lines export (admin only).
 */
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { AuditFilter } from '../../store/store.js';
import { parseSince } from '../input.js';
import { auditJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { auditExportLines } from '../audit/audit-export.js';
import { AuditExportQuery, AuditList, AuditQuery } from '../schemas/audit.js';
import { ERROR_RESPONSES } from '../schemas/common.js';

/** Registers the audit route. */
export function registerAuditRoutes(app: TernApp, { store, clock }: ApiDeps): void {
  app.get(
    '/api/v1/audit/export',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['audit'],
        summary:
          'The audit log as JSON lines, oldest first, each event chained by SHA-256 to the one before, ending with the chain head; an export without `since` lets retention prune what it covered',
        querystring: AuditExportQuery,
        produces: ['application/x-ndjson'],
        response: { 200: Type.String({ description: 'JSON lines (application/x-ndjson)' }), ...ERROR_RESPONSES },
      },
    },
    (request, reply) => {
      const q = request.query;
      const now = clock();
      const since = q.since === undefined ? undefined : parseSince(q.since);
      const until = q.until === undefined ? now : parseSince(q.until, 'query.until');
      let throughId: number | null = null;
      // The mark moves only once every byte was handed to the connection.
      reply.raw.once('finish', () => {
        if (throughId === null) return;
        store.markAuditExported(throughId).catch((err: unknown) => request.log.error({ err }, 'could not record the audit export mark'));
      });
      const lines = auditExportLines(store, { ...(since === undefined ? {} : { since }), until }, now, (id) => (throughId = id));
      void reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="tern-audit-${new Date(now).toISOString().replace(/[:.]/g, '-')}.jsonl"`)
        .send(Readable.from(lines) as unknown as string); // a stream: Fastify sends it as is
    },
  );

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

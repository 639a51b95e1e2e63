/**
 * `GET /api/v1/releases/:id/logs`: the tail of each instance's output, for releases whose
 * canary a deploy driver started (the process driver writes one log per instance).
 */
import { tailLines } from '../../control/drivers/log-tail.js';
import { NotFoundError } from '../../core/errors.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES, IdParams } from '../schemas/common.js';
import { LogsQuery, ReleaseLogs } from '../schemas/releases.js';

/** Registers the logs route (read access). */
export function registerReleaseLogRoute(app: TernApp, { store }: ApiDeps): void {
  app.get(
    '/api/v1/releases/:id/logs',
    {
      config: { access: 'read' },
      schema: {
        tags: ['releases'],
        summary: "The last lines of each started instance's output (empty for static endpoints)",
        params: IdParams,
        querystring: LogsQuery,
        response: { 200: ReleaseLogs, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const release = await store.getRelease(request.params.id);
      if (!release)
        throw new NotFoundError('TERN_RELEASE_NOT_FOUND', `no release with id "${request.params.id}"`, {
          details: { release: request.params.id },
        });
      const lines = request.query.lines ?? 100;
      const d = release.deployment;
      const instances = await Promise.all(
        (d?.instances ?? []).map(async (i) => ({
          index: i.index,
          pid: i.pid,
          endpoint: i.endpoint,
          state: d!.state,
          lines: await tailLines(i.logFile, lines),
        })),
      );
      return { release: release.id, instances };
    },
  );
}

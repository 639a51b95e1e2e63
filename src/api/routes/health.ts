/** Liveness and readiness: `/healthz` answers while the process runs, `/readyz` only while the store answers. */
import { Type } from 'typebox';
import { StoreError } from '../../core/errors.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ErrorResponse } from '../schemas/common.js';

/** A store that takes longer than this to answer a trivial query is not ready. */
const READY_TIMEOUT_MS = 2000;

const Status = Type.Object({ status: Type.String() });

/** Registers the health routes. */
export function registerHealthRoutes(app: TernApp, { store }: ApiDeps): void {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness', response: { 200: Status } } },
    (_request, reply) => {
      void reply.send({ status: 'ok' });
    },
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 while the store answers, else 503',
        response: { 200: Status, 503: ErrorResponse },
      },
    },
    async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreError(`the store did not answer within ${READY_TIMEOUT_MS}ms`)), READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([store.countTokens(), timeout]);
      } catch (err) {
        throw err instanceof StoreError ? err : new StoreError('the store is not answering', { cause: err });
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' };
    },
  );
}

/**
 * User feedback: a 1..5 score attributed to the service's active release, and to the version
 * the user saw — the one they name, or the one the sticky split gives their user key.
 */
import { ValidationError } from '../../core/errors.js';
import { isCanary } from '../../core/sticky.js';
import type { Release, Service } from '../../core/types.js';
import { auditInput } from '../audit/audit-context.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { FeedbackAccepted, FeedbackBody } from '../schemas/audit.js';
import { ERROR_RESPONSES, NameParams } from '../schemas/common.js';
import { mustGet } from './services.js';

/** Registers `POST /api/v1/services/:name/feedback`. */
export function registerFeedbackRoutes(app: TernApp, { store, clock }: ApiDeps): void {
  app.post(
    '/api/v1/services/:name/feedback',
    {
      config: { access: 'feedback', audit: { action: 'feedback.submit', target: 'service/:name' } },
      schema: {
        tags: ['feedback'],
        summary: "Record a user's 1-5 score for the version they saw",
        params: NameParams,
        body: FeedbackBody,
        response: { 202: FeedbackAccepted, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const service = await mustGet(store.getService(request.params.name), request.params.name);
      const active = (await store.listReleases({ service: service.name, active: true, limit: 1 }))[0];
      const version = attribute(service, active, request.body.version, request.body.userKey);
      const releaseId = active?.id ?? null;
      const audit = auditInput(request, { detail: { score: request.body.score, version, releaseId } });
      await store.addFeedback(
        { service: service.name, score: request.body.score, userKey: request.body.userKey ?? null, version, releaseId, at: clock() },
        audit,
      );
      return reply.code(202).send({ accepted: true, releaseId, version });
    },
  );
}

/**
 * The version feedback is about: the named one (must be stable or the active canary), else
 * the sticky split's answer for the user key during a release, else the stable version
 * when no release runs, else unknown (null).
 * @throws ValidationError when the named version is neither stable nor canary.
 */
export function attribute(
  service: Service,
  active: Release | undefined,
  version: string | undefined,
  userKey: string | undefined,
): string | null {
  if (version !== undefined) {
    const known = [service.stable.version, ...(active ? [active.version] : [])];
    if (!known.includes(version)) {
      throw new ValidationError(
        'body.version',
        `"${version}" is not a version of ${service.name} now; expected ${known.map((v) => `"${v}"`).join(' or ')}`,
      );
    }
    return version;
  }
  if (!active) return service.stable.version;
  if (userKey === undefined) return null;
  return isCanary(active.salt, userKey, active.weight) ? active.version : active.baseline.version;
}

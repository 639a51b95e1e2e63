/**
 * User feedback: a 1..5 score attributed to the service's active release, and to the version
 * the user saw — the one they name, else the one the sticky split gives their user key (sent
 * as `userKey`, or carried by the request the way the gateway reads it: the service's sticky
 * header, else its sticky cookie). Scores join their version's evidence at once; their audit
 * is aggregated per service, minute and token (src/store/kysely/feedback-audit.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ValidationError } from '../../core/errors.js';
import { isCanary } from '../../core/sticky.js';
import type { Release, Service } from '../../core/types.js';
import { readCookie } from '../../gateway/split.js';
import { auditInput } from '../audit/audit-context.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { FeedbackAccepted, FeedbackBody } from '../schemas/audit.js';
import { ERROR_RESPONSES, NameParams } from '../schemas/common.js';
import { registerFeedbackAuditFlush } from './feedback-audit-flush.js';
import { mustGet } from './services.js';

/** The audit action of an aggregate of accepted scores; refused submissions are `feedback.submit`. */
export const FEEDBACK_SUBMITTED = 'feedback.submitted';

/** Registers `POST /api/v1/services/:name/feedback` and the flush of its audit aggregates. */
export function registerFeedbackRoutes(app: TernApp, deps: ApiDeps): void {
  const { store, clock } = deps;
  registerFeedbackAuditFlush(app, deps);
  app.post(
    '/api/v1/services/:name/feedback',
    {
      config: { access: 'feedback', audit: { action: 'feedback.submit', target: 'service/:name' } },
      schema: {
        tags: ['feedback'],
        summary: "Record a user's 1-5 score for the version they saw",
        description:
          "The version is `version` when given (the stable or the canary version), else the one the sticky split gives `userKey` (or the user key the request carries in the service's sticky header or cookie), else stable when no release runs, else null (kept, but in neither version's evidence). Accepted scores are audited as one `feedback.submitted` event per service, minute and token.",
        params: NameParams,
        body: FeedbackBody,
        response: { 202: FeedbackAccepted, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const service = await mustGet(store.getService(request.params.name), request.params.name);
      const active = (await store.listReleases({ service: service.name, active: true, limit: 1 }))[0];
      const userKey = request.body.userKey ?? carriedUserKey(service, request.headers);
      const version = attribute(service, active, request.body.version, userKey);
      const releaseId = active?.id ?? null;
      const audit = { ...auditInput(request), action: FEEDBACK_SUBMITTED };
      await store.addFeedback(
        { service: service.name, score: request.body.score, userKey: userKey ?? null, version, releaseId, at: clock() },
        audit,
      );
      return reply.code(202).send({ accepted: true, releaseId, version });
    },
  );
}

/**
 * The user key a request carries as the gateway would read it (src/gateway/split.ts): the
 * service's sticky header, else its sticky cookie; undefined when neither is there (the
 * client address is not used: the caller is the service's backend, not the user).
 */
export function carriedUserKey(service: Service, headers: IncomingHttpHeaders): string | undefined {
  const name = service.stickiness.header;
  const header = name === undefined ? undefined : headers[name];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader !== undefined && fromHeader !== '') return fromHeader;
  if (service.stickiness.cookie === '') return undefined;
  return readCookie(headers.cookie, service.stickiness.cookie) ?? undefined;
}

/**
 * The version feedback is about: the named one (must be stable or the active canary), else
 * the sticky split's answer for the user key during a release (stable users to the release's
 * baseline, canary users to its version), else the stable version when no release runs, else
 * unknown (null).
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
  return isCanary(active.salt, userKey, active.weight, active.bucketHash) ? active.version : active.baseline.version;
}

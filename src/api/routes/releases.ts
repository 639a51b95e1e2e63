/** Release routes: start, list and read releases, and the operator actions on them. */
import { NotFoundError } from '../../core/errors.js';
import { setWeight } from '../../core/release-state.js';
import type { Release } from '../../core/types.js';
import { percentToBps } from '../../core/weight.js';
import type { Store } from '../../store/store.js';
import { auditInput } from '../audit/audit-context.js';
import { actorOf } from '../auth/access.js';
import { allowedWebhooks } from '../input.js';
import { currentGateHold } from '../present-gate.js';
import { releaseJson } from '../present.js';
import { type ReleaseAction, applyAction } from '../../core/release-rules.js';
import { buildRelease, prometheusFor } from '../release-start.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES, IdParams, NameParams } from '../schemas/common.js';
import { ActionBody, PromoteBody, ReleaseCreate, ReleaseList, ReleaseListQuery, ReleaseResponse, WeightBody } from '../schemas/releases.js';
import { registerReleaseDefaultsRoute } from './release-defaults.js';
import { registerReleaseLogRoute } from './release-logs.js';
import { mustGet } from './services.js';

const TAGS = ['releases'];

/** Resolves to the release. @throws NotFoundError TERN_RELEASE_NOT_FOUND. */
export async function mustGetRelease(store: Store, id: string): Promise<Release> {
  const release = await store.getRelease(id);
  if (!release) throw new NotFoundError('TERN_RELEASE_NOT_FOUND', `no release with id "${id}"`, { details: { release: id } });
  return release;
}

/** Registers the release routes. */
export function registerReleaseRoutes(app: TernApp, deps: ApiDeps): void {
  const { store, clock } = deps;

  app.post(
    '/api/v1/services/:name/releases',
    {
      config: { access: 'release', audit: { action: 'release.start', target: 'release/*' } },
      schema: {
        tags: TAGS,
        summary: 'Start a release',
        params: NameParams,
        body: ReleaseCreate,
        response: { 201: ReleaseResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      // The service's pre-rollout webhooks decide whether the release may start at once.
      const service = await store.getService(name);
      const input = buildRelease(name, request.body, actorOf(request.principal), clock, service?.webhooks);
      allowedWebhooks([...(input.webhooks ?? [])], deps.webhookPolicy, 'body.webhooks');
      prometheusFor(input.analysis.checks ?? [], deps.prometheusUrl, 'body.analysis.checks');
      const audit = auditInput(request, {
        target: `release/${input.id}`,
        reason: request.body.reason ?? null,
        detail: { version: input.version, status: input.status, steps: input.steps.length },
      });
      const created = await store.createRelease(input, audit);
      return reply.code(201).send(releaseJson(created));
    },
  );

  app.get(
    '/api/v1/services/:name/releases',
    {
      config: { access: 'read' },
      schema: {
        tags: TAGS,
        summary: "List a service's releases, newest first",
        params: NameParams,
        querystring: ReleaseListQuery,
        response: { 200: ReleaseList, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      await mustGet(store.getService(request.params.name), request.params.name);
      const releases = await store.listReleases({ service: request.params.name, limit: request.query.limit ?? 50 });
      return { releases: releases.map(releaseJson) };
    },
  );

  app.get(
    '/api/v1/releases/:id',
    {
      config: { access: 'read' },
      schema: { tags: TAGS, summary: 'Get a release', params: IdParams, response: { 200: ReleaseResponse, ...ERROR_RESPONSES } },
    },
    async (request) => {
      const release = await mustGetRelease(store, request.params.id);
      return { ...releaseJson(release), gate: await currentGateHold(store, release) };
    },
  );

  for (const action of ['promote', 'rollback', 'pause', 'resume'] as const) registerAction(app, deps, action);
  registerReleaseLogRoute(app, deps);
  registerReleaseDefaultsRoute(app, deps);

  app.put(
    '/api/v1/releases/:id/weight',
    {
      config: { access: 'release', audit: { action: 'release.weight', target: 'release/:id' } },
      schema: {
        tags: TAGS,
        summary: 'Set the canary weight by hand (pauses automatic stepping)',
        params: IdParams,
        body: WeightBody,
        response: { 200: ReleaseResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const bps = percentToBps(request.body.weight, 'body.weight');
      const reason = request.body.reason ?? null;
      const updated = await store.updateRelease(
        request.params.id,
        (current) => setWeight(current, bps, clock(), reason),
        (next) => auditInput(request, { service: next.service, reason, detail: { weight: request.body.weight, status: next.status } }),
      );
      return releaseJson(updated);
    },
  );
}

const SUMMARIES: Readonly<Record<ReleaseAction, string>> = {
  promote: 'Promote: to the next step, or to 100% and stable with {"full": true} or at the last step',
  rollback: 'Roll back: all users to the stable version, the release ends',
  pause: 'Pause automatic stepping',
  resume: 'Resume automatic stepping',
};

function registerAction(app: TernApp, { store, clock }: ApiDeps, action: ReleaseAction): void {
  app.post(
    `/api/v1/releases/:id/${action}`,
    {
      config: { access: 'release', audit: { action: `release.${action}`, target: 'release/:id' } },
      schema: {
        tags: TAGS,
        summary: SUMMARIES[action],
        params: IdParams,
        body: action === 'promote' ? PromoteBody : ActionBody,
        response: { 200: ReleaseResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const body = request.body as { reason?: string; full?: boolean };
      const reason = body.reason ?? null;
      const updated = await store.updateRelease(
        request.params.id,
        (current) => applyAction(action, current, clock(), reason, body.full === true),
        (next) =>
          auditInput(request, {
            service: next.service,
            reason,
            detail: { status: next.status, weight: next.weight / 100, stepIndex: next.stepIndex },
          }),
      );
      return releaseJson(updated);
    },
  );
}

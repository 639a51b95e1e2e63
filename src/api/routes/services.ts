/** Service routes: create, list, read, change and delete the services Tern fronts (admin to change). */
import { Type } from 'typebox';
import { compileDeploy } from '../../core/deploy.js';
import { compileServiceMetrics } from '../service-metrics.js';
import { NotFoundError } from '../../core/errors.js';
import type { Release, Service, ServiceMatch, Stickiness } from '../../core/types.js';
import { compileWebhooks } from '../../core/webhooks.js';
import type { ServicePatch } from '../../store/store.js';
import { auditInput } from '../audit/audit-context.js';
import { assertExecutable, withRules } from '../dataplane-check.js';
import { allowedWebhooks, compileEndpoints, compileRules } from '../input.js';
import { serviceJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES, NameParams } from '../schemas/common.js';
import { ServiceCreate, ServiceList, ServicePatch as ServicePatchBody, ServiceResponse } from '../schemas/services.js';

const TAGS = ['services'];
export const DEFAULT_STICKY_COOKIE = 'tern_uid';

/** Registers the service routes. */
export function registerServiceRoutes(app: TernApp, { store, webhookPolicy, clock }: ApiDeps): void {
  const activeOf = async (name: string): Promise<Release | undefined> =>
    (await store.listReleases({ service: name, active: true, limit: 1 }))[0];

  app.post(
    '/api/v1/services',
    {
      config: { access: 'admin', audit: { action: 'service.create', target: 'service/{body.name}' } },
      schema: { tags: TAGS, summary: 'Create a service', body: ServiceCreate, response: { 201: ServiceResponse, ...ERROR_RESPONSES } },
    },
    async (request, reply) => {
      const b = request.body;
      const audit = auditInput(request, { target: `service/${b.name}`, service: b.name });
      const input = {
        name: b.name,
        match: matchOf(b.match),
        stickiness: stickinessOf(b.stickiness),
        stable: { version: b.stable.version, endpoints: compileEndpoints(b.stable.endpoints, 'body.stable.endpoints') },
        rules: compileRules(b.rules ?? [], 'body.rules'),
        webhooks: allowedWebhooks(compileWebhooks(b.webhooks, 'body.webhooks'), webhookPolicy, 'body.webhooks'),
        deploy: compileDeploy(b.deploy, 'body.deploy'),
        metrics: compileServiceMetrics(b.name, b.metrics, 'body.metrics'),
      };
      await assertExecutable(store, input.name, { rules: input.rules, canary: null }, clock());
      const created = await store.createService(input, audit);
      return reply.code(201).send(serviceJson(created, undefined));
    },
  );

  app.get(
    '/api/v1/services',
    { config: { access: 'read' }, schema: { tags: TAGS, summary: 'List services', response: { 200: ServiceList, ...ERROR_RESPONSES } } },
    async () => {
      const [services, active] = await Promise.all([store.listServices(), store.listReleases({ active: true })]);
      const byService = new Map(active.map((r) => [r.service, r]));
      return { services: services.map((s) => serviceJson(s, byService.get(s.name))) };
    },
  );

  app.get(
    '/api/v1/services/:name',
    {
      config: { access: 'read' },
      schema: { tags: TAGS, summary: 'Get a service', params: NameParams, response: { 200: ServiceResponse, ...ERROR_RESPONSES } },
    },
    async (request) => {
      const service = await mustGet(store.getService(request.params.name), request.params.name);
      return serviceJson(service, await activeOf(service.name));
    },
  );

  app.patch(
    '/api/v1/services/:name',
    {
      config: { access: 'admin', audit: { action: 'service.update', target: 'service/:name' } },
      schema: {
        tags: TAGS,
        summary: 'Change a service (each given field replaces the old value)',
        params: NameParams,
        body: ServicePatchBody,
        response: { 200: ServiceResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const b = request.body;
      const patch: { -readonly [K in keyof ServicePatch]: ServicePatch[K] } = {};
      if (b.match) patch.match = matchOf(b.match);
      if (b.stickiness) patch.stickiness = stickinessOf(b.stickiness);
      if (b.stable) patch.stable = { version: b.stable.version, endpoints: compileEndpoints(b.stable.endpoints, 'body.stable.endpoints') };
      if (b.rules) patch.rules = compileRules(b.rules, 'body.rules');
      if (b.webhooks) patch.webhooks = allowedWebhooks(compileWebhooks(b.webhooks, 'body.webhooks'), webhookPolicy, 'body.webhooks');
      if (b.deploy) patch.deploy = compileDeploy(b.deploy, 'body.deploy');
      if (b.metrics) patch.metrics = compileServiceMetrics(request.params.name, b.metrics, 'body.metrics');
      if (patch.rules) {
        const route = (await store.routingTable()).routes.find((r) => r.service === request.params.name);
        await assertExecutable(store, request.params.name, withRules(route, patch.rules), clock());
      }
      const updated = await store.updateService(
        request.params.name,
        patch,
        auditInput(request, { detail: { fields: Object.keys(patch) } }),
      );
      return serviceJson(updated, await activeOf(updated.name));
    },
  );

  app.delete(
    '/api/v1/services/:name',
    {
      config: { access: 'admin', audit: { action: 'service.delete', target: 'service/:name' } },
      schema: {
        tags: TAGS,
        summary: 'Delete a service and its release history',
        params: NameParams,
        response: { 204: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await store.deleteService(request.params.name, auditInput(request));
      return reply.code(204).send(null);
    },
  );
}

/** Resolves to the service. @throws NotFoundError TERN_SERVICE_NOT_FOUND. */
export async function mustGet(found: Promise<Service | undefined>, name: string): Promise<Service> {
  const service = await found;
  if (!service) throw new NotFoundError('TERN_SERVICE_NOT_FOUND', `no service named "${name}"`, { details: { service: name } });
  return service;
}

function matchOf(m: { host?: string; pathPrefix?: string }): ServiceMatch {
  return {
    ...(m.host === undefined ? {} : { host: m.host.toLowerCase() }),
    ...(m.pathPrefix === undefined ? {} : { pathPrefix: m.pathPrefix }),
  };
}

function stickinessOf(s: { header?: string; cookie?: string } | undefined): Stickiness {
  // Header names are case-insensitive (RFC 9110 §5.1); Node lowercases incoming ones.
  return { ...(s?.header === undefined ? {} : { header: s.header.toLowerCase() }), cookie: s?.cookie ?? DEFAULT_STICKY_COOKIE };
}

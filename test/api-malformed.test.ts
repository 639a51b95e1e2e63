/**
 * Malformed input, route by route: each case must get the right 4xx and code, leave services,
 * releases, tokens, metric windows and the routing version exactly as they were, and add
 * exactly one audit event — the `rejected` one for that request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ErrorJson, type Harness, codeOf, serviceBody, serviceWithRelease, startHarness } from './api-harness.js';

interface Case {
  readonly name: string;
  readonly method: string;
  /** `{rel}` is replaced by the active release's id. */
  readonly url: string;
  readonly body?: unknown;
  readonly raw?: string;
  readonly contentType?: string;
  readonly status: number;
  readonly code: string;
  /** The field the error names (details.field), when it names one. */
  readonly field?: string;
  /** A fragment the message must contain. */
  readonly says?: string;
}

const SVC = '/api/v1/services';
const REL = '/api/v1/services/checkout/releases';
const endpoints = ['http://127.0.0.1:9002'];
const release = (extra: Record<string, unknown>) => ({ version: 'v3', endpoints, ...extra });
const stable = (list: unknown) => serviceBody('fresh', { stable: { version: 'v1', endpoints: list } });

const CASES: readonly Case[] = [
  // services
  {
    name: 'name of the wrong type',
    method: 'POST',
    url: SVC,
    body: serviceBody('x', { name: 5 }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.name',
    says: 'expected string',
  },
  {
    name: 'missing stable',
    method: 'POST',
    url: SVC,
    body: { name: 'fresh', match: { pathPrefix: '/f' } },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body',
    says: 'missing required field "stable"',
  },
  {
    name: 'name with capitals and underscore',
    method: 'POST',
    url: SVC,
    body: serviceBody('Bad_Name'),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.name',
    says: 'DNS label',
  },
  {
    name: 'name of 64 characters',
    method: 'POST',
    url: SVC,
    body: serviceBody('a'.repeat(64)),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.name',
  },
  {
    name: 'unknown field',
    method: 'POST',
    url: SVC,
    body: serviceBody('fresh', { colour: 'red' }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body',
    says: 'unknown field "colour"',
  },
  {
    name: 'empty match',
    method: 'POST',
    url: SVC,
    body: serviceBody('fresh', { match: {} }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.match',
  },
  {
    name: 'path prefix without slash',
    method: 'POST',
    url: SVC,
    body: serviceBody('fresh', { match: { pathPrefix: 'fresh' } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.match.pathPrefix',
  },
  {
    name: 'endpoint that is not a URL',
    method: 'POST',
    url: SVC,
    body: stable(['not a url']),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.stable.endpoints[0]',
  },
  {
    name: 'endpoint with credentials',
    method: 'POST',
    url: SVC,
    body: stable(['http://u:p@10.0.0.1']),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.stable.endpoints[0]',
    says: 'credentials',
  },
  {
    name: 'endpoint with a query',
    method: 'POST',
    url: SVC,
    body: stable(['http://10.0.0.1/?a=1']),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    says: 'query',
  },
  {
    name: 'endpoint with ftp scheme',
    method: 'POST',
    url: SVC,
    body: stable(['ftp://10.0.0.1']),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    says: 'http or https',
  },
  {
    name: 'no endpoints',
    method: 'POST',
    url: SVC,
    body: stable([]),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.stable.endpoints',
  },
  {
    name: '65 endpoints',
    method: 'POST',
    url: SVC,
    body: stable(Array.from({ length: 65 }, (_, i) => `http://10.0.0.${i}`)),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.stable.endpoints',
  },
  {
    name: 'rule regex that does not compile',
    method: 'POST',
    url: SVC,
    body: serviceBody('fresh', { rules: [{ header: 'x-t', regex: '(', target: 'canary' }] }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.rules[0].regex',
  },
  {
    name: 'rule with header and cookie',
    method: 'POST',
    url: SVC,
    body: serviceBody('fresh', { rules: [{ header: 'x-t', cookie: 'c', equals: '1', target: 'canary' }] }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.rules[0]',
  },
  { name: 'existing name', method: 'POST', url: SVC, body: serviceBody('checkout'), status: 409, code: 'TERN_SERVICE_EXISTS' },
  { name: 'broken JSON', method: 'POST', url: SVC, raw: '{"name":', status: 400, code: 'TERN_INVALID_JSON' },
  {
    name: 'prototype pollution attempt',
    method: 'POST',
    url: SVC,
    raw: '{"__proto__":{"admin":true},"name":"fresh"}',
    status: 400,
    code: 'TERN_INVALID_JSON',
  },
  {
    name: 'not JSON at all',
    method: 'POST',
    url: SVC,
    raw: 'name=checkout',
    contentType: 'text/plain',
    status: 415,
    code: 'TERN_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'body over the limit',
    method: 'POST',
    url: SVC,
    body: serviceBody('fresh', { pad: 'x'.repeat(70 * 1024) }),
    status: 413,
    code: 'TERN_BODY_TOO_LARGE',
  },
  {
    name: 'patch with nothing',
    method: 'PATCH',
    url: `${SVC}/checkout`,
    body: {},
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body',
  },
  {
    name: 'patch renaming',
    method: 'PATCH',
    url: `${SVC}/checkout`,
    body: { name: 'other' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    says: 'unknown field "name"',
  },
  {
    name: 'patch a bad service name',
    method: 'PATCH',
    url: `${SVC}/Bad_Name`,
    body: { rules: [] },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'params.name',
  },
  {
    name: 'patch stable during a release',
    method: 'PATCH',
    url: `${SVC}/checkout`,
    body: { stable: { version: 'v9', endpoints } },
    status: 409,
    code: 'TERN_RELEASE_ACTIVE',
  },
  { name: 'delete a service during a release', method: 'DELETE', url: `${SVC}/checkout`, status: 409, code: 'TERN_RELEASE_ACTIVE' },
  { name: 'delete an unknown service', method: 'DELETE', url: `${SVC}/nope`, status: 404, code: 'TERN_SERVICE_NOT_FOUND' },
  // releases
  {
    name: 'weight -1',
    method: 'POST',
    url: REL,
    body: release({ steps: [{ weight: -1 }] }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.steps[0].weight',
  },
  {
    name: 'weight 101',
    method: 'POST',
    url: REL,
    body: release({ steps: [{ weight: 101 }] }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.steps[0].weight',
    says: 'must be <= 100',
  },
  {
    name: 'weight 5.001',
    method: 'POST',
    url: REL,
    body: release({ steps: [{ weight: 5.001 }, { weight: 100 }] }),
    status: 400,
    code: 'TERN_INVALID_WEIGHT',
    field: 'body.steps[0].weight',
  },
  {
    name: 'weight as a string',
    method: 'POST',
    url: REL,
    body: release({ steps: [{ weight: '25' }] }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.steps[0].weight',
    says: 'expected number',
  },
  {
    name: 'hold of 30 parsecs',
    method: 'POST',
    url: REL,
    body: release({ steps: [{ weight: 5, hold: '30 parsecs' }, { weight: 100 }] }),
    status: 400,
    code: 'TERN_INVALID_DURATION',
    field: 'body.steps[0].hold',
  },
  { name: 'shorthand with a hole', method: 'POST', url: REL, body: release({ steps: '5,,100' }), status: 400, code: 'TERN_INVALID_PLAN' },
  {
    name: 'shorthand of words',
    method: 'POST',
    url: REL,
    body: release({ steps: 'five,ten' }),
    status: 400,
    code: 'TERN_INVALID_PLAN',
    field: 'body.steps[0]',
  },
  {
    name: 'weights not rising',
    method: 'POST',
    url: REL,
    body: release({ steps: [{ weight: 50 }, { weight: 25 }] }),
    status: 400,
    code: 'TERN_INVALID_PLAN',
    field: 'body.steps[1].weight',
  },
  {
    name: 'steps of the wrong type',
    method: 'POST',
    url: REL,
    body: release({ steps: 5 }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.steps',
    says: 'expected string or array',
  },
  { name: 'missing version', method: 'POST', url: REL, body: { endpoints }, status: 400, code: 'TERN_INVALID_REQUEST', says: '"version"' },
  {
    name: 'version with spaces',
    method: 'POST',
    url: REL,
    body: release({ version: 'v 2' }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.version',
  },
  {
    name: 'unknown judge',
    method: 'POST',
    url: REL,
    body: release({ analysis: { judge: 'magic' } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.analysis.judge',
  },
  {
    name: 'bad analysis interval',
    method: 'POST',
    url: REL,
    body: release({ analysis: { interval: 'soon' } }),
    status: 400,
    code: 'TERN_INVALID_DURATION',
    field: 'body.analysis.interval',
  },
  {
    name: 'error-rate absolute tolerance above 100 percentage points',
    method: 'POST',
    url: REL,
    body: release({ analysis: { errorRate: { minDifference: 2 } } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.analysis.errorRate.minDifference',
    says: '0.1 percentage points',
  },
  {
    name: 'negative latency absolute tolerance',
    method: 'POST',
    url: REL,
    body: release({ analysis: { latency: { minDifferenceMs: -5 } } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.analysis.latency.minDifferenceMs',
  },
  {
    name: 'misspelt latency setting',
    method: 'POST',
    url: REL,
    body: release({ analysis: { latency: { toleranceMs: 5 } } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.analysis.latency',
    says: 'accepted: tolerance, minDifferenceMs, p99MaxMs',
  },
  {
    name: 'feedback minimum score out of 1..5',
    method: 'POST',
    url: REL,
    body: release({ analysis: { feedback: { minScore: 0 } } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.analysis.feedback.minScore',
  },
  {
    name: 'bad warm-up',
    method: 'POST',
    url: REL,
    body: release({ analysis: { warmup: 'a while' } }),
    status: 400,
    code: 'TERN_INVALID_DURATION',
    field: 'body.analysis.warmup',
  },
  {
    name: 'metadata with 33 keys',
    method: 'POST',
    url: REL,
    body: release({ metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.metadata',
  },
  {
    name: 'metadata value too long',
    method: 'POST',
    url: REL,
    body: release({ metadata: { commit: 'x'.repeat(1025) } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.metadata.commit',
  },
  {
    name: 'metadata value not a string',
    method: 'POST',
    url: REL,
    body: release({ metadata: { build: 42 } }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.metadata.build',
  },
  {
    name: 'canary endpoint not a URL',
    method: 'POST',
    url: REL,
    body: release({ endpoints: ['localhost:80'] }),
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.endpoints[0]',
  },
  { name: 'a second active release', method: 'POST', url: REL, body: release({}), status: 409, code: 'TERN_RELEASE_ACTIVE' },
  {
    name: 'release of an unknown service',
    method: 'POST',
    url: `${SVC}/nope/releases`,
    body: release({}),
    status: 404,
    code: 'TERN_SERVICE_NOT_FOUND',
  },
  // release actions
  {
    name: 'promote full as a string',
    method: 'POST',
    url: '/api/v1/releases/{rel}/promote',
    body: { full: 'yes' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.full',
  },
  {
    name: 'pause with a numeric reason',
    method: 'POST',
    url: '/api/v1/releases/{rel}/pause',
    body: { reason: 5 },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.reason',
  },
  {
    name: 'rollback with an unknown field',
    method: 'POST',
    url: '/api/v1/releases/{rel}/rollback',
    body: { colour: 1 },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    says: 'unknown field "colour"',
  },
  {
    name: 'resume a progressing release',
    method: 'POST',
    url: '/api/v1/releases/{rel}/resume',
    status: 409,
    code: 'TERN_ILLEGAL_TRANSITION',
  },
  {
    name: 'promote an unknown release',
    method: 'POST',
    url: '/api/v1/releases/rel_nope/promote',
    status: 404,
    code: 'TERN_RELEASE_NOT_FOUND',
  },
  {
    name: 'weight -1 by hand',
    method: 'PUT',
    url: '/api/v1/releases/{rel}/weight',
    body: { weight: -1 },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.weight',
  },
  {
    name: 'weight 101 by hand',
    method: 'PUT',
    url: '/api/v1/releases/{rel}/weight',
    body: { weight: 101 },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.weight',
  },
  {
    name: 'weight 5.001 by hand',
    method: 'PUT',
    url: '/api/v1/releases/{rel}/weight',
    body: { weight: 5.001 },
    status: 400,
    code: 'TERN_INVALID_WEIGHT',
    field: 'body.weight',
  },
  {
    name: 'weight "25" by hand',
    method: 'PUT',
    url: '/api/v1/releases/{rel}/weight',
    body: { weight: '25' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.weight',
  },
  {
    name: 'weight missing',
    method: 'PUT',
    url: '/api/v1/releases/{rel}/weight',
    body: {},
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    says: 'missing required field "weight"',
  },
  // feedback
  {
    name: 'score 0',
    method: 'POST',
    url: `${SVC}/checkout/feedback`,
    body: { score: 0 },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.score',
  },
  {
    name: 'score 3.5',
    method: 'POST',
    url: `${SVC}/checkout/feedback`,
    body: { score: 3.5 },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.score',
  },
  {
    name: 'score "4"',
    method: 'POST',
    url: `${SVC}/checkout/feedback`,
    body: { score: '4' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.score',
  },
  {
    name: 'feedback on a version not live',
    method: 'POST',
    url: `${SVC}/checkout/feedback`,
    body: { score: 4, version: 'v9' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.version',
  },
  // tokens
  {
    name: 'unknown role',
    method: 'POST',
    url: '/api/v1/tokens',
    body: { name: 'ci', role: 'root' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.role',
  },
  {
    name: 'empty token name',
    method: 'POST',
    url: '/api/v1/tokens',
    body: { name: '', role: 'viewer' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.name',
  },
  {
    name: 'missing role',
    method: 'POST',
    url: '/api/v1/tokens',
    body: { name: 'ci' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    says: '"role"',
  },
  { name: 'revoke an unknown token', method: 'DELETE', url: '/api/v1/tokens/tok_nope', status: 404, code: 'TERN_TOKEN_NOT_FOUND' },
  // data plane
  {
    name: 'metrics without windows',
    method: 'POST',
    url: '/api/v1/dataplane/metrics',
    body: { gateway: 'g1' },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
  },
  {
    name: 'metrics with errors above requests',
    method: 'POST',
    url: '/api/v1/dataplane/metrics',
    body: { gateway: 'g1', windows: [window({ requests: 1, errors: 2 })] },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.windows[0].errors',
  },
  {
    name: 'metrics with a non-numeric latency bucket',
    method: 'POST',
    url: '/api/v1/dataplane/metrics',
    body: { gateway: 'g1', windows: [window({ latency: { abc: 1 } })] },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.windows[0].latency',
  },
  {
    name: 'metrics over their 4 MiB limit',
    method: 'POST',
    url: '/api/v1/dataplane/metrics',
    body: { gateway: 'g'.repeat(5 * 1024 * 1024), windows: [] },
    status: 413,
    code: 'TERN_BODY_TOO_LARGE',
    says: '4194304',
  },
  {
    name: 'metrics with a fractional count',
    method: 'POST',
    url: '/api/v1/dataplane/metrics',
    body: { gateway: 'g1', windows: [window({ requests: 1.5 })] },
    status: 400,
    code: 'TERN_INVALID_REQUEST',
    field: 'body.windows[0].requests',
  },
];

function window(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    releaseId: 'rel_x',
    version: 'v2',
    windowStart: 1_700_000_000_000,
    windowMs: 1000,
    requests: 10,
    errors: 0,
    latency: { '10': 10 },
    ...extra,
  };
}

describe('malformed requests', () => {
  let h: Harness;
  let rel: string;

  before(async () => {
    h = await startHarness();
    rel = await serviceWithRelease(h, 'checkout');
  });
  after(() => h.close());

  const snapshot = async () => ({
    services: await h.store.listServices(),
    releases: await h.store.listReleases({}),
    tokens: await h.store.listTokens(),
    windows: await h.store.listMetricWindows(rel),
    routing: (await h.store.routingTable()).version,
  });

  for (const c of CASES) {
    it(`${c.method} ${c.url}: ${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await snapshot();
      const [lastEvent] = await h.store.listAudit({ limit: 1 });
      const res = await h.call(c.method, c.url.replace('{rel}', rel), {
        ...(c.body === undefined ? {} : { body: c.body }),
        ...(c.raw === undefined ? {} : { raw: c.raw }),
        ...(c.contentType === undefined ? {} : { contentType: c.contentType }),
      });
      assert.equal(res.statusCode, c.status, res.body);
      assert.equal(codeOf(res), c.code, res.body);
      const error = res.json<ErrorJson>().error;
      if (c.field) assert.equal(error.details?.field, c.field, error.message);
      if (c.says) assert.ok(error.message.includes(c.says), `"${error.message}" should say ${c.says}`);
      assert.ok(!/\bat .+:\d+:\d+/.test(res.body), 'no stack trace in the answer');
      assert.deepEqual(await snapshot(), before, 'state changed');
      const events = await h.store.listAudit({ limit: 5, ...(lastEvent ? {} : {}) });
      const added = events.filter((e) => e.id > (lastEvent?.id ?? 0));
      assert.equal(added.length, 1, `expected exactly one new audit event, got ${JSON.stringify(added)}`);
      assert.equal(added[0]?.outcome, 'rejected');
      assert.equal(added[0]?.actor, 'token:bootstrap-admin');
      assert.equal(added[0]?.reason, error.message);
    });
  }
});

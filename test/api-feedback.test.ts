/**
 * User feedback end to end through the API and the store: a `feedback` token
 * submits scores and does nothing else; stable users' and canary users' scores land in their
 * own version's evidence (the judges' metric windows), however the user is named; accepted
 * scores are audited as one event per service, minute and token, refused ones one by one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { registerFeedbackAuditFlush } from '../src/api/routes/feedback-audit-flush.js';
import type { TernApp } from '../src/api/route-config.js';
import { stepEvidence } from '../src/control/evidence.js';
import { stickyBucket } from '../src/core/sticky.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { type FeedbackJson, type Harness, type MetricsJson, codeOf, serviceBody, startHarness } from './api-harness.js';
import { auditOf } from '../src/store/contract/fixtures.js';
import type { ServiceInput } from '../src/store/store.js';
import { ROOT, cleanEnv } from './support/processes.js';

const MINUTE = 60_000;
const SHOP: ServiceInput = {
  name: 'shop',
  match: { pathPrefix: '/shop' },
  stickiness: { cookie: 'tern_uid' },
  stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
  rules: [],
};
const START = 28_333_333 * MINUTE; // a minute boundary

describe('feedback through the API', () => {
  let h: Harness;
  let now = START;
  let rel: string;
  let salt: string;
  before(async () => {
    h = await startHarness({ clock: () => now });
    const svc = await h.call('POST', '/api/v1/services', { body: serviceBody('shop', { stickiness: { header: 'X-User-Id' } }) });
    assert.equal(svc.statusCode, 201, svc.body);
    const r = await h.call('POST', '/api/v1/services/shop/releases', {
      body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], steps: '50,100' },
    });
    assert.equal(r.statusCode, 201, r.body);
    rel = r.json<{ id: string }>().id;
    salt = (await h.store.getRelease(rel))!.salt;
    now += 1_000; // scores arrive after the step started
  });
  after(() => h.close());

  const send = (body: Record<string, unknown>, options: { token?: string; headers?: Record<string, string> } = {}) =>
    h.call('POST', '/api/v1/services/shop/feedback', { token: options.token ?? h.tokens.feedback, body, ...options });
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const onCanary = (u: string): boolean => stickyBucket(salt, u) < 5_000;

  it('a feedback token submits scores and can do nothing else, not even read', async () => {
    const ok = await send({ score: 5, version: 'v1' });
    assert.equal(ok.statusCode, 202, ok.body);
    for (const [method, url] of [
      ['GET', '/api/v1/services/shop'],
      ['GET', `/api/v1/releases/${rel}/metrics`],
      ['GET', '/api/v1/audit'],
      ['POST', `/api/v1/releases/${rel}/rollback`],
    ] as const) {
      const res = await h.call(method, url, { token: h.tokens.feedback, ...(method === 'POST' ? { body: {} } : {}) });
      assert.deepEqual([res.statusCode, codeOf(res)], [403, 'TERN_FORBIDDEN'], `${method} ${url}`);
    }
  });

  it("stable users' and canary users' scores each land in their own version's evidence, however the user is named", async () => {
    const stableUsers = users.filter((u) => !onCanary(u)).slice(0, 6);
    const canaryUsers = users.filter(onCanary).slice(0, 6);
    const expected = { v1: { sum: 5, count: 1 }, v2: { sum: 0, count: 0 } }; // the 5 for v1 above
    type Way = (u: string) => { body: Record<string, unknown>; headers?: Record<string, string> };
    const ways: Way[] = [
      (u: string) => ({ body: { userKey: u } }),
      (u: string) => ({ body: {}, headers: { 'x-user-id': u } }), // the service's sticky header
      (u: string) => ({ body: {}, headers: { cookie: `theme=dark; tern_uid=${u}` } }), // its sticky cookie
    ];
    for (const [group, version, score] of [
      [stableUsers, 'v1', 4],
      [canaryUsers, 'v2', 2],
    ] as const) {
      for (const [i, user] of group.entries()) {
        const way = ways[i % ways.length]!(user);
        const res = await send({ score, ...way.body }, way.headers ? { headers: way.headers } : {});
        assert.equal(res.statusCode, 202, res.body);
        assert.equal(res.json<FeedbackJson>().version, version, `${user} (way ${i % ways.length}) is on ${version}`);
        expected[version].sum += score;
        expected[version].count += 1;
      }
    }
    const unknown = await send({ score: 1 });
    assert.deepEqual(unknown.json(), { accepted: true, releaseId: rel, version: null }, 'nobody named: kept, in neither arm');

    const metrics = (await h.call('GET', `/api/v1/releases/${rel}/metrics`)).json<MetricsJson>();
    const byVersion = Object.fromEntries(
      metrics.versions.map((v) => [
        v.version,
        {
          sum: v.windows.reduce((n, w) => n + w.feedbackSum, 0),
          count: v.windows.reduce((n, w) => n + w.feedbackCount, 0),
        },
      ]),
    );
    assert.deepEqual(byVersion, expected, 'GET /releases/:id/metrics shows each version its own scores');

    const release = (await h.store.getRelease(rel))!;
    const evidence = stepEvidence(release, await h.store.listMetricWindows(rel));
    const arm = (side: 'stable' | 'canary') => ({
      sum: evidence.reduce((n, e) => n + e[side].feedbackSum, 0),
      count: evidence.reduce((n, e) => n + e[side].feedbackCount, 0),
    });
    assert.deepEqual({ v1: arm('stable'), v2: arm('canary') }, expected, "the judges' evidence has both arms' scores");
  });

  it('the explicit version wins over the user key, and must be stable or the canary', async () => {
    const canaryUser = users.find(onCanary)!;
    assert.equal((await send({ score: 3, userKey: canaryUser, version: 'v1' })).json<FeedbackJson>().version, 'v1');
    const bad = await send({ score: 3, version: 'v9' });
    assert.deepEqual([bad.statusCode, codeOf(bad)], [400, 'TERN_INVALID_REQUEST']);
  });

  it('accepted scores are one audit event per minute and token once the minute is over; refused ones are audited each', async () => {
    now = START + MINUTE + 5_000; // a fresh minute
    for (let i = 0; i < 30; i++) assert.equal((await send({ score: (i % 5) + 1, userKey: users[i]! })).statusCode, 202);
    assert.equal((await send({ score: 4, version: 'v2' }, { token: h.tokens.deployer })).statusCode, 202);
    const denied = await send({ score: 4 }, { token: h.tokens.viewer });
    assert.equal(denied.statusCode, 403);
    const rejected = await send({ score: 9 });
    assert.equal(rejected.statusCode, 400);

    const audit = async (action: string) => (await h.store.listAudit({ service: 'shop', action, since: START + MINUTE })).reverse();
    assert.deepEqual(
      (await audit('feedback.submit')).map((e) => [e.actor, e.outcome]),
      [
        ['token:viewer-1', 'denied'],
        ['token:feedback-1', 'rejected'],
      ],
      'refusals are audited at once, one by one',
    );
    assert.equal((await audit('feedback.submitted')).length, 0, 'accepted scores are not audited one by one');

    now = START + 2 * MINUTE;
    assert.equal(await h.store.flushFeedbackAudit(now), 3, 'the two minutes so far: feedback-1 in each, deployer-1 in the second');
    const events = (await audit('feedback.submitted')).filter((e) => e.detail?.from === new Date(START + MINUTE).toISOString());
    assert.deepEqual(
      events.map((e) => [e.actor, e.detail?.count, e.detail?.sum]),
      [
        ['token:deployer-1', 1, 4],
        ['token:feedback-1', 30, 90],
      ].sort(),
    );
    const byVersion = events.find((e) => e.actor === 'token:feedback-1')?.detail?.byVersion as Record<string, { count: number }>;
    assert.equal(byVersion.v1!.count + byVersion.v2!.count, 30);
    assert.ok(byVersion.v1!.count > 0 && byVersion.v2!.count > 0, 'both versions are counted');
  });

  it('closing the app writes the open minute too', async () => {
    now = START + 3 * MINUTE + 1_000;
    assert.equal((await send({ score: 2, version: 'v1' })).statusCode, 202);
    await h.app.close();
    const [last] = await h.store.listAudit({ service: 'shop', action: 'feedback.submitted', limit: 1 });
    assert.deepEqual(
      [last?.actor, last?.detail?.count, last?.detail?.from],
      ['token:feedback-1', 1, new Date(START + 3 * MINUTE).toISOString()],
    );
  });
});

describe('feedback audit flush', () => {
  it('a process killed mid-minute loses no aggregate: the next one to open the database writes it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tern-feedback-'));
    const file = path.join(dir, 'tern.db');
    try {
      const first = await openSqliteStore({ file, clock: () => START });
      await first.createService(SHOP, auditOf('service.create', 'service/shop'));
      await first.close();
      // A real process adds two scores and is killed before any flush could run.
      const script = `
        const { openSqliteStore } = await import(${JSON.stringify(path.join(ROOT, 'src/store/sqlite/sqlite-store.ts'))});
        const store = await openSqliteStore({ file: ${JSON.stringify(file)}, clock: () => ${START + 5} });
        const audit = { actor: 'token:survey', source: '10.0.0.7', action: 'feedback.submitted', target: 'service/shop', outcome: 'success', reason: null, detail: null };
        for (const score of [2, 5]) await store.addFeedback({ service: 'shop', score, userKey: null, version: 'v1', releaseId: null, at: ${START + 5} }, audit);
        process.kill(process.pid, 'SIGKILL');`;
      const killed = await new Promise<string | null>((resolve) =>
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: cleanEnv() }, (err) =>
          resolve(err?.signal ?? null),
        ),
      );
      assert.equal(killed, 'SIGKILL');
      const second = await openSqliteStore({ file, clock: () => START + MINUTE });
      try {
        assert.equal(await second.flushFeedbackAudit(START + MINUTE), 1);
        const [event] = await second.listAudit({ action: 'feedback.submitted' });
        assert.deepEqual([event?.actor, event?.detail?.count, event?.detail?.sum], ['token:survey', 2, 7]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes each minute shortly after it is over, while the app runs', async () => {
    let now = START + 10;
    const store = await openSqliteStore({ file: ':memory:', clock: () => now });
    const app = Fastify() as unknown as TernApp;
    registerFeedbackAuditFlush(app, { store, clock: () => now }, 20);
    try {
      await store.createService(SHOP, auditOf('service.create', 'service/shop'));
      await app.ready();
      await store.addFeedback(
        { service: 'shop', score: 4, userKey: null, version: 'v1', releaseId: null, at: now },
        auditOf('feedback.submitted', 'service/shop'),
      );
      const written = () => store.listAudit({ action: 'feedback.submitted' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await written()).length, 0, 'not while its minute is open');
      now = START + MINUTE;
      const deadline = Date.now() + 5_000;
      while ((await written()).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await written())[0]?.detail?.count, 1);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

/**
 * Webhooks end to end through a real HTTP receiver: gates hold a release while they refuse or
 * time out and let it through once they answer 2xx, roll it back after `maxFailures`; the
 * confirm-step gate controls advancing; a slow gate never holds up another release; event
 * notifications arrive signed (and a tampered or stale one fails verification), filtered,
 * with verdict evidence, and in Slack format when asked. Destinations (SSRF): the
 * receiver listens on loopback, so these controllers run with an allow-list naming 127.0.0.1;
 * without one, or when a listed name resolves to loopback at delivery, nothing is called, and a
 * receiver's answer body never reaches a release reason or an audit event.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { seededRandom, simulateSecond, type ArmSpec } from '../src/analysis/simulate.js';
import { startController, type Controller, type ControllerOptions } from '../src/control/runner.js';
import { createPoster } from '../src/control/notify/deliver.js';
import { compileWebhookPolicy, type Resolver } from '../src/control/notify/destinations.js';
import { verifySignature } from '../src/control/notify/signature.js';
import { compileAnalysis, compilePlan } from '../src/core/plan.js';
import { transition } from '../src/core/release-state.js';
import type { Release, Webhook } from '../src/core/types.js';
import { compileWebhooks, type WebhookInput } from '../src/core/webhooks.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { startReceiver, type Receiver } from './fixtures/webhook-receiver.js';

const SECRET = 'test-signing-secret';
const who = {
  actor: 'token:ci',
  source: '127.0.0.1',
  action: 'test',
  target: 'test',
  outcome: 'success' as const,
  reason: null,
  detail: null,
};
const HEALTHY: ArmSpec = { errorRate: 0.005, medianMs: 20, sigma: 0.4 };

let now = 1_700_000_000_000;
let store: Store;
let rx: Receiver;
let controller: Controller | undefined;

before(async () => {
  rx = await startReceiver();
});
after(() => rx.close());
afterEach(async () => {
  await controller?.stop();
  controller = undefined;
  await store.close();
  rx.calls.length = 0;
});

const hooks = (...list: WebhookInput[]): Webhook[] => compileWebhooks(list.map((h) => ({ ...h, url: `${rx.url}${h.url}` })));

/** The receiver is on loopback: allowed explicitly, as an admin would with --webhook-allow 127.0.0.1. */
const LOOPBACK_ALLOWED = compileWebhookPolicy(['127.0.0.1']);

async function setup(
  serviceHooks: Webhook[] = [],
  options: Partial<ControllerOptions> = { webhookPolicy: LOOPBACK_ALLOWED },
): Promise<Controller> {
  now = 1_700_000_000_000;
  store = await openSqliteStore({ file: ':memory:', clock: () => now });
  for (const name of ['checkout', 'search']) {
    await store.createService(
      {
        name,
        match: { pathPrefix: `/${name}` },
        stickiness: { cookie: 'tern_uid' },
        stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
        rules: [],
        webhooks: name === 'checkout' ? serviceHooks : [],
      },
      who,
    );
  }
  controller = startController({ store, clock: () => now, tickMs: 0, webhookSecret: SECRET, eventRetryDelayMs: () => 10, ...options });
  return controller;
}

function release(
  service: string,
  webhooks: Webhook[],
  plan: Parameters<typeof compilePlan>[0] = '10:10s,100',
  id = `rel-${service}`,
): Promise<Release> {
  return store.createRelease(
    {
      id,
      service,
      version: 'v2',
      endpoints: ['http://127.0.0.1:9002'],
      status: 'pending',
      stepIndex: 0,
      weight: 0,
      salt: 's',
      steps: compilePlan(plan),
      analysis: compileAnalysis(undefined),
      metadata: { commit: 'abc' },
      webhooks,
      createdBy: 'token:ci',
      startedAt: now,
    },
    { ...who, action: 'release.start', target: `release/${id}` },
  );
}

/** One controller pass, then waits for the calls it started and lets the clock move on. */
async function step(c: Controller, advanceMs = 0): Promise<Release> {
  await c.tick();
  await c.idle();
  now += advanceMs;
  return (await store.getRelease('rel-checkout'))!;
}

const NO_ANALYSIS = [{ weight: 10, hold: '10s', analysis: false }, { weight: 50, hold: '10s', analysis: false }, { weight: 100 }];

describe('webhook gates', () => {
  it('pre-rollout holds a pending release while it refuses, and starts it once it answers 2xx', async () => {
    const c = await setup();
    rx.answer('/gate', { status: 503, body: 'change freeze' });
    await release('checkout', hooks({ type: 'pre-rollout', url: '/gate' }));
    assert.equal((await step(c, 500)).status, 'pending');
    assert.equal((await step(c, 1000)).status, 'pending', 'no call again before the backoff');
    assert.equal(rx.on('/gate').length, 1);
    const call = rx.on('/gate')[0]!;
    assert.equal(call.headers['x-tern-event'], 'pre-rollout');
    assert.equal(verifySignature(SECRET, call.headers['x-tern-signature'] as string, call.raw), true);
    assert.deepEqual(
      [call.json.gate, (call.json.release as Release).id, (call.json.release as { weight: number }).weight],
      ['pre-rollout', 'rel-checkout', 0],
    );
    rx.answer('/gate', { status: 204 });
    await step(c);
    const started = await step(c);
    assert.equal(started.status, 'progressing');
    assert.equal(started.weight, 1000);
    assert.equal(started.reason, null, 'the hold is over: no reason left saying it holds');
    assert.equal(rx.on('/gate').length, 2);
  });

  it('rolls back after maxFailures consecutive failures, naming the hook and its status, never its body', async () => {
    const c = await setup();
    rx.answer('/gate', { status: 500, body: 'internal secret: db password hunter2' });
    await release('checkout', hooks({ type: 'pre-rollout', url: '/gate', maxFailures: 3 }));
    for (let i = 0; i < 3; i++) assert.equal((await step(c, 60_000)).status, 'pending');
    const rolled = await step(c);
    assert.equal(rolled.status, 'rolling_back');
    assert.match(
      rolled.reason ?? '',
      /^gate pre-rollout \(http:\/\/127\.0\.0\.1:\d+\/gate\) unreachable: HTTP 500 \(not a 2xx answer\) \(3\/3 failures since 2023-11-14T22:13:20Z\)$/,
    );
    assert.equal((await step(c)).status, 'rolled_back');
    const audit = await store.listAudit({});
    assert.ok(audit.some((e) => e.action === 'release.rollback'));
    assert.equal(
      JSON.stringify([await store.getRelease('rel-checkout'), audit]).includes('hunter2'),
      false,
      'the body is in no reason, verdict or event',
    );
  });

  it('a gate that does not answer within its timeout holds the release like a refusal', async () => {
    const c = await setup();
    rx.answer('/slow', { status: 200, delayMs: 1500 });
    await release('checkout', hooks({ type: 'pre-rollout', url: '/slow', timeout: '200ms', maxFailures: 1 }));
    assert.equal((await step(c)).status, 'pending');
    const rolled = await step(c);
    assert.equal(rolled.status, 'rolling_back');
    assert.match(rolled.reason ?? '', /unreachable: timed out after 0\.2s \(1\/1 failures since /);
  });

  it('confirm-step decides when the next step may start; pre-promotion (on the service) when it may be promoted', async () => {
    const c = await setup(hooks({ type: 'pre-promotion', url: '/promote' }));
    rx.answer('/confirm', { status: 409, body: 'not yet' });
    await release('checkout', hooks({ type: 'confirm-step', url: '/confirm' }), NO_ANALYSIS);
    assert.equal((await step(c, 11_000)).status, 'progressing');
    for (let i = 0; i < 3; i++) assert.equal((await step(c, 5_000)).stepIndex, 0, 'held at step 1 while confirm-step refuses');
    const asked = rx.on('/confirm').at(-1)!;
    assert.deepEqual(asked.json.nextStep, { step: 2, weight: 50 });
    rx.answer('/confirm', { status: 200 });
    await step(c);
    const advanced = await step(c, 11_000);
    assert.deepEqual([advanced.stepIndex, advanced.weight], [1, 5000]);
    let promoted = advanced;
    for (let i = 0; i < 10 && promoted.status !== 'promoted'; i++) promoted = await step(c, 11_000);
    assert.equal(promoted.status, 'promoted', promoted.reason ?? '');
    assert.equal(rx.on('/promote').length, 1);
    assert.equal(
      rx.on('/confirm').filter((x) => (x.json.nextStep as { step: number }).step === 3).length,
      1,
      'a final 100% step is confirmed too',
    );
  });

  it('a deliberate 4xx "no" holds without counting toward maxFailures, saying why and since when; an outage counts', async () => {
    const c = await setup();
    const t0 = now;
    rx.answer('/confirm', {
      status: 409,
      contentType: 'application/json',
      body: JSON.stringify({ reason: 'change\tfreeze\u0007 until Monday', internal: 'db password hunter2' }),
    });
    await release('checkout', hooks({ type: 'confirm-step', url: '/confirm', maxFailures: 2 }), NO_ANALYSIS);
    await step(c, 11_000);
    // Many refusals: far more than maxFailures, and the release still holds at step 1.
    let held = await step(c, 61_000);
    for (let i = 0; i < 5; i++) held = await step(c, 61_000);
    assert.equal(held.status, 'progressing');
    assert.equal(held.stepIndex, 0);
    assert.ok(rx.on('/confirm').length >= 5, `asked ${rx.on('/confirm').length} times`);
    const since = new Date(t0 + 11_000).toISOString().slice(0, 19);
    assert.equal(
      held.reason,
      `held by gate confirm-step (${rx.url}/confirm): refused 409 'change freeze until Monday' since ${since}Z`,
      'a sanitised reason from the JSON answer, and the time the refusals began',
    );
    const gateEvents = (await store.listAudit({})).filter((e) => e.action === 'release.gate');
    assert.equal(gateEvents.length, 1, 'one event while the refusal stays the same');
    assert.deepEqual(
      [gateEvents[0]!.detail?.answer, gateEvents[0]!.detail?.status, gateEvents[0]!.detail?.reason, gateEvents[0]!.detail?.failures],
      ['refused', 409, 'change freeze until Monday', 0],
    );

    // The gate goes down: an outage, counted, with its own since; at maxFailures the release rolls back.
    rx.answer('/confirm', { status: 503, contentType: 'application/json', body: JSON.stringify({ reason: 'hunter2' }) });
    const outageAt = now;
    await step(c, 61_000);
    const down = await step(c, 61_000);
    assert.equal(down.status, 'progressing');
    assert.equal(
      down.reason,
      `held by gate confirm-step (${rx.url}/confirm): unreachable, HTTP 503 (not a 2xx answer) (1/2 failures) since ${new Date(outageAt).toISOString().slice(0, 19)}Z`,
    );
    const rolled = await step(c);
    assert.equal(rolled.status, 'rolling_back');
    assert.match(
      rolled.reason ?? '',
      /^gate confirm-step \(http:[^)]+\/confirm\) unreachable: HTTP 503 \(not a 2xx answer\) \(2\/2 failures since /,
    );
    const audit = await store.listAudit({});
    assert.equal(JSON.stringify([rolled, audit]).includes('hunter2'), false, 'no other part of a body, and no 5xx body, is kept');
  });

  it('a refusal without a JSON reason says so (the body stays out); a 429 is an outage, not a refusal', async () => {
    const c = await setup();
    rx.answer('/gate', { status: 403, body: 'Forbidden: internal admin page of 10.0.0.7' });
    await release('checkout', hooks({ type: 'pre-rollout', url: '/gate', maxFailures: 1 }));
    await step(c, 2_000);
    const held = await step(c);
    assert.equal(held.status, 'pending');
    assert.match(held.reason ?? '', /^held by gate pre-rollout \(http:[^)]+\/gate\): refused 403 \(no reason given\) since /);
    rx.answer('/gate', { status: 429, contentType: 'application/json', body: '{"reason":"slow down"}' });
    await step(c, 2_000);
    await step(c);
    const rolled = await step(c);
    assert.equal(rolled.status, 'rolling_back', 'a 429 is an outage: maxFailures 1 rolls back');
    assert.match(rolled.reason ?? '', /unreachable: HTTP 429 \(not a 2xx answer\) \(1\/1 failures since /);
    assert.equal(rolled.reason?.includes('slow down'), false);
  });

  it('a slow gate on one release does not hold up the controller or another release', async () => {
    const c = await setup();
    rx.answer('/slow', { status: 200, delayMs: 1500 });
    await release('checkout', hooks({ type: 'pre-rollout', url: '/slow', timeout: '5s' }));
    await release('search', []);
    const t0 = Date.now();
    await c.tick();
    assert.ok(Date.now() - t0 < 1000, `tick took ${Date.now() - t0} ms`);
    assert.equal((await store.getRelease('rel-search'))!.status, 'progressing');
    assert.equal((await store.getRelease('rel-checkout'))!.status, 'pending');
    await c.idle();
    await c.tick();
    assert.equal((await store.getRelease('rel-checkout'))!.status, 'progressing');
  });
});

describe('event notifications', () => {
  it('sends every change, signed, with the release summary; tampered or stale copies fail verification', async () => {
    const c = await setup(hooks({ type: 'event', url: '/events' }));
    await release('checkout', []);
    await step(c);
    await store.updateRelease('rel-checkout', (r) => transition(r, 'paused', now, 'looking at dashboards'), {
      ...who,
      action: 'release.pause',
      target: 'release/rel-checkout',
    });
    await store.updateRelease('rel-checkout', (r) => transition(r, 'rolling_back', now, 'not today'), {
      ...who,
      action: 'release.rollback',
      target: 'release/rel-checkout',
    });
    await step(c);
    await c.idle();
    const events = rx.on('/events');
    assert.deepEqual(
      events.map((e) => e.headers['x-tern-event']),
      ['release.start', 'release.start', 'release.pause', 'release.rollback', 'release.rolled_back'],
    );
    const rollback = events[3]!;
    assert.equal(rollback.json.reason, 'not today');
    assert.equal(rollback.json.actor, 'token:ci');
    assert.deepEqual((rollback.json.release as { id: string; service: string; version: string }).id, 'rel-checkout');
    assert.equal(new Set(events.map((e) => e.headers['x-tern-delivery'])).size, events.length, 'unique delivery ids');
    const header = rollback.headers['x-tern-signature'] as string;
    assert.equal(verifySignature(SECRET, header, rollback.raw), true);
    assert.equal(verifySignature(SECRET, header, rollback.raw.replace('not today', 'all fine')), false, 'tampered');
    assert.equal(verifySignature(SECRET, header, rollback.raw, { now: Date.now() + 10 * 60_000 }), false, 'stale (replayed 10 min later)');
    assert.equal(JSON.stringify(events.map((e) => e.json)).includes('"salt"'), false);
  });

  it('sends a Slack-compatible body, only for the events asked for, with the verdict evidence', async () => {
    const c = await setup();
    await release(
      'checkout',
      hooks(
        { type: 'event', url: '/slack', format: 'slack', events: ['release.rollback'] },
        { type: 'event', url: '/json', events: ['release.rollback'] },
      ),
      '10:5m,100',
    );
    await step(c);
    const rand = seededRandom(2);
    for (let t = 0; t < 300 && (await store.getRelease('rel-checkout'))!.status === 'progressing'; t++) {
      const r = (await store.getRelease('rel-checkout'))!;
      const s = simulateSecond(rand, 1000, r.weight / 10_000, HEALTHY, { ...HEALTHY, errorRate: 0.05 });
      const start = Math.floor(now / 1000) * 1000;
      await store.appendMetricWindows('gateway-1', [
        { releaseId: r.id, version: 'v1', windowStart: start, windowMs: 1000, ...s.stable, feedbackSum: 0, feedbackCount: 0 },
        { releaseId: r.id, version: 'v2', windowStart: start, windowMs: 1000, ...s.canary, feedbackSum: 0, feedbackCount: 0 },
      ]);
      await step(c, 1000);
    }
    await c.idle();
    const [slack] = rx.on('/slack');
    assert.equal(rx.on('/slack').length, 1);
    assert.deepEqual(Object.keys(slack!.json), ['text']);
    assert.match(
      slack!.json.text as string,
      /^\*checkout\* v2 is rolling back — 0% on canary, step 1\/2 .* by system\)\n> sequential judge failed/,
    );
    const [json] = rx.on('/json');
    const evidence = json!.json.evidence as { judge: string; outcome: string; checks: Array<{ check: string; outcome: string }> };
    assert.equal(evidence.outcome, 'fail');
    assert.ok(evidence.checks.some((ch) => ch.check === 'error-rate' && ch.outcome === 'fail'));
  });

  it('retries a failed delivery a bounded number of times and never blocks the controller', async () => {
    const c = await setup(hooks({ type: 'event', url: '/down', retries: 2 }));
    rx.answer('/down', { status: 502 });
    await release('checkout', []);
    const t0 = Date.now();
    await c.tick();
    assert.ok(Date.now() - t0 < 1000, `tick took ${Date.now() - t0} ms`);
    await c.idle();
    // Two changes (API start, controller start) × (1 + 2 retries).
    assert.equal(rx.on('/down').length, 3 + 3);
  });
});

describe('webhook destinations', () => {
  it('without an allow-list a loopback receiver is never called: the gate fails, saying why', async () => {
    const c = await setup([], {});
    await release('checkout', hooks({ type: 'pre-rollout', url: '/gate', maxFailures: 1 }));
    await step(c);
    const rolled = await step(c);
    assert.equal(rolled.status, 'rolling_back');
    assert.match(
      rolled.reason ?? '',
      /unreachable: destination refused: 127\.0\.0\.1 is a loopback address; an admin may allow it with tern server --webhook-allow \(1\/1 failures since [^)]+\)$/,
    );
    assert.equal(rx.calls.length, 0);
  });

  it('a listed name that resolves to loopback at delivery is refused (DNS rebinding); listing the address lets it through', async () => {
    const port = new URL(rx.url).port;
    const resolve: Resolver = (hostname, _family, callback) =>
      hostname === 'hooks.example'
        ? callback(null, [{ address: '127.0.0.1', family: 4 }])
        : callback(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
    rx.answer('/gate', { status: 200 });
    const gate = compileWebhooks([{ type: 'pre-rollout', url: `http://hooks.example:${port}/gate`, maxFailures: 1 }]);
    const c = await setup([], { post: createPoster(SECRET, { policy: compileWebhookPolicy(['hooks.example']), resolve }) });
    await release('checkout', gate);
    await step(c);
    const rolled = await step(c);
    assert.equal(rolled.status, 'rolling_back');
    assert.match(rolled.reason ?? '', /unreachable: destination refused: hooks\.example \(resolved\) is a loopback address/);
    assert.equal(rx.calls.length, 0);
    await controller?.stop();
    await store.close();

    const allowed = await setup([], {
      post: createPoster(SECRET, { policy: compileWebhookPolicy(['hooks.example', '127.0.0.1']), resolve }),
    });
    await release('checkout', gate);
    await step(allowed);
    const passed = await step(allowed);
    assert.equal(passed.status, 'progressing', passed.reason ?? '');
    assert.equal(rx.on('/gate').length, 1);
    assert.equal(rx.on('/gate')[0]!.headers.host, `hooks.example:${port}`);
  });
});

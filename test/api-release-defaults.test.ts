/**
 * `GET /api/v1/release-defaults` tells the truth: a release started without a plan or analysis
 * settings gets exactly the plan and settings it answers, and one that turns feedback on with
 * `{}` gets the feedback settings it answers. Any reading role may ask; the OpenAPI document
 * describes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReleaseDefaultsJson, ReleaseJson } from '../src/api/types.js';
import { type Harness, serviceBody, startHarness } from './api-harness.js';

describe('GET /api/v1/release-defaults', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it('answers the plan and analysis settings a release gets when its request leaves them out', async () => {
    const res = await h.call('GET', '/api/v1/release-defaults', { token: h.tokens.viewer });
    assert.equal(res.statusCode, 200, res.body);
    const d = res.json<ReleaseDefaultsJson>();
    assert.match(d.plan, /^\d+(:\w+)?(,\d+(:\w+)?)*$/);
    assert.equal(d.steps.at(-1)?.weight, 100);

    assert.equal((await h.call('POST', '/api/v1/services', { body: serviceBody('shop') })).statusCode, 201);
    const bare = await h.call('POST', '/api/v1/services/shop/releases', { body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'] } });
    assert.equal(bare.statusCode, 201, bare.body);
    const r = bare.json<ReleaseJson>();
    assert.deepEqual(r.steps, d.steps);
    assert.deepEqual(r.analysis, d.analysis);
    // The shorthand says the same plan as the compiled steps.
    const fromShorthand = await h.call('POST', '/api/v1/services', { body: serviceBody('shop2') });
    assert.equal(fromShorthand.statusCode, 201);
    const planned = await h.call('POST', '/api/v1/services/shop2/releases', {
      body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], steps: d.plan, analysis: { feedback: {} } },
    });
    assert.equal(planned.statusCode, 201, planned.body);
    const p = planned.json<ReleaseJson>();
    assert.deepEqual(p.steps, d.steps);
    assert.deepEqual(p.analysis.feedback, d.feedback);
  });

  it('is refused without a token and described in the OpenAPI document', async () => {
    assert.equal((await h.call('GET', '/api/v1/release-defaults', { token: null })).statusCode, 401);
    const doc = (await h.call('GET', '/api/v1/openapi.json', { token: null })).json<{ paths: Record<string, unknown> }>();
    assert.ok(doc.paths['/api/v1/release-defaults'], 'the route is in the OpenAPI document');
  });
});

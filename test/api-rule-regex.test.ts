/**
 * Rule regexes at the API (ReDoS): what the linear-time engine cannot run is refused
 * with a 400 naming the rule and saying why, on create and on patch; what it can run is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ErrorJson, type Harness, type ServiceJson, serviceBody, startHarness } from './api-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('rule regexes at the API', () => {
  it('refuses backreferences, lookaround and over-budget rule sets with a 400 naming the rule', async () => {
    const cases: [unknown[], string, RegExp][] = [
      [
        [{ header: 'x-t', regex: '^(a)\\1$', target: 'canary' }],
        'body.rules[0].regex',
        /backreferences \(\\1\) are not supported: rules match in linear time/,
      ],
      [
        [
          { header: 'x-t', equals: '1', target: 'canary' },
          { cookie: 'c', regex: '^(?!guest)', target: 'stable' },
        ],
        'body.rules[1].regex',
        /lookahead/,
      ],
      [[{ header: 'x-t', regex: '(?<=x)y', target: 'canary' }], 'body.rules[0].regex', /lookbehind/],
      [
        Array.from({ length: 8 }, () => ({ header: 'x-t', regex: '^user-[a-z]{20}$', target: 'canary' })),
        'body.rules[4].regex',
        /together compile to/,
      ],
    ];
    for (const [rules, field, message] of cases) {
      const res = await h.call('POST', '/api/v1/services', { body: serviceBody('svc', { rules }) });
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json<ErrorJson>();
      assert.equal(error.code, 'TERN_INVALID_REQUEST');
      assert.equal(error.details?.field, field);
      assert.match(error.message, message);
    }
    assert.equal((await h.call('GET', '/api/v1/services/svc')).statusCode, 404, 'nothing stored');
  });

  it('stores a rule it can run, and refuses one on PATCH the same way', async () => {
    const rules = [{ header: 'x-t', regex: '^(a+)+$', target: 'canary' }];
    const created = await h.call('POST', '/api/v1/services', { body: serviceBody('ok', { rules }) });
    assert.equal(created.statusCode, 201, created.body);
    assert.deepEqual(created.json<ServiceJson>().rules, rules);
    const patched = await h.call('PATCH', '/api/v1/services/ok', {
      body: { rules: [{ header: 'x-t', regex: '^(?<n>a)\\k<n>$', target: 'canary' }] },
    });
    assert.equal(patched.statusCode, 400, patched.body);
    assert.match(patched.json<ErrorJson>().error.message, /^body\.rules\[0\]\.regex: named backreferences/);
    assert.deepEqual((await h.call('GET', '/api/v1/services/ok')).json<ServiceJson>().rules, rules);
  });
});

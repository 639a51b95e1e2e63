/**
 * Custom checks at the door: `analysis.checks` accepted, compiled and read back;
 * every mistake answered 4xx naming the field (unknown kind, no $version, empty query,
 * tolerance out of range, too many checks, no Prometheus anywhere); the same rules for
 * `--analysis-file`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readAnalysisFile } from '../src/cli/analysis-file.js';
import { codeOf, serviceBody, startHarness, type ErrorJson, type Harness, type ReleaseJson } from './api-harness.js';

const RATIO = {
  name: 'checkout-failures',
  kind: 'ratio',
  events: 'sum(checkout_failures_total{version="$version"}) or vector(0)',
  total: 'sum(checkouts_total{version="$version"})',
};
const GAUGE = {
  name: 'feedback-score',
  kind: 'gauge',
  query: 'avg(feedback_score{version="$version"})',
  min: 3.5,
  direction: 'higher-is-better',
};

describe('analysis.checks through the API', () => {
  let h: Harness;
  let bare: Harness;
  before(async () => {
    h = await startHarness({ prometheusUrl: 'http://127.0.0.1:9090' });
    bare = await startHarness();
    for (const x of [h, bare]) assert.equal((await x.call('POST', '/api/v1/services', { body: serviceBody('shop') })).statusCode, 201);
  });
  after(async () => {
    await h.close();
    await bare.close();
  });

  const start = (x: Harness, analysis: unknown) =>
    x.call('POST', '/api/v1/services/shop/releases', { body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], analysis } });

  it('compiles the checks with defaults and reads them back', async () => {
    const res = await start(h, { checks: [RATIO, { ...GAUGE, interval: '5s', evaluations: 4 }] });
    assert.equal(res.statusCode, 201, res.body);
    const expected = [
      {
        ...RATIO,
        url: null,
        direction: 'lower-is-better',
        interval: '10s',
        intervalMs: 10_000,
        tolerance: 0.1,
        minDifference: 0.001,
        max: null,
        minTotal: null,
      },
      { ...GAUGE, url: null, interval: '5s', intervalMs: 5000, evaluations: 4, tolerance: null, minDifference: 0, max: null },
    ];
    assert.deepEqual(res.json<ReleaseJson>().analysis.checks, expected);
    const id = res.json<ReleaseJson>().id;
    assert.deepEqual((await h.call('GET', `/api/v1/releases/${id}`)).json<ReleaseJson>().analysis.checks, expected);
    assert.equal((await h.call('POST', `/api/v1/releases/${id}/rollback`, { body: {} })).statusCode, 200);
  });

  const refusals: Array<[string, unknown, RegExp]> = [
    ['an unknown kind', [{ ...RATIO, kind: 'histogram' }], /^body\.analysis\.checks\[0\]\.kind: expected one of "ratio", "gauge"/],
    ['a query without $version', [{ ...RATIO, total: 'sum(checkouts_total)' }], /checks\[0\]\.total/],
    ['an empty query', [{ ...GAUGE, query: '   ' }], /checks\[0\]\.query/],
    ['a tolerance out of range', [{ ...RATIO, tolerance: 500 }], /^body\.analysis\.checks\[0\]\.tolerance: must be <= 100/],
    [
      'more than 10 checks',
      Array.from({ length: 11 }, (_, i) => ({ ...RATIO, name: `c${i}` })),
      /^body\.analysis\.checks: must not have more than 10 items/,
    ],
    ['a gauge with no comparison', [{ name: 'g', kind: 'gauge', query: 'x{version="$version"}' }], /checks\[0\]/],
    ['a ratio with a gauge field', [{ ...RATIO, query: 'x{version="$version"}' }], /checks\[0\]\.query/],
    ['a built-in name', [{ ...RATIO, name: 'latency' }], /checks\[0\]\.name/],
    ['two checks of one name', [RATIO, RATIO], /checks\[1\]\.name/],
    ['a URL that is not one', [{ ...RATIO, url: 'prometheus:9090/x y' }], /checks\[0\]\.url/],
  ];
  for (const [what, checks, field] of refusals) {
    it(`answers 400 naming the field for ${what}`, async () => {
      const res = await start(h, { checks });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json<ErrorJson>().error.message, field);
    });
  }

  it('refuses checks no Prometheus would answer on a server without --prometheus-url, accepts them with their own url', async () => {
    const res = await start(bare, { checks: [RATIO] });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(codeOf(res), 'TERN_INVALID_REQUEST');
    assert.match(res.json<ErrorJson>().error.message, /checks\[0\]\.url.*--prometheus-url/);
    const own = await start(bare, { checks: [{ ...RATIO, url: 'http://prom.example:9090' }] });
    assert.equal(own.statusCode, 201, own.body);
    assert.equal(own.json<ReleaseJson>().analysis.checks[0]?.url, 'http://prom.example:9090');
  });

  it('--analysis-file applies the same rules before anything is sent', () => {
    const read = (text: string) => () => readAnalysisFile('a.yaml', () => text);
    assert.deepEqual(read(JSON.stringify({ checks: [RATIO] }))().checks, [RATIO]);
    assert.throws(
      read('checks:\n  - name: x\n    kind: ratio\n    events: a\n    total: b{version="$version"}\n'),
      /checks\[0\]\.events.*\$version/,
    );
    assert.throws(read('checks:\n  - name: x\n    kind: gauge\n    query: q{version="$version"}\n    tolerance: -1\n'), /tolerance/);
  });
});

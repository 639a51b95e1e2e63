/**
 * The controller's Prometheus sources: one per active release of a Prometheus-sourced service
 * (none for built-in ones), targets the canary and stable by role, windows stored under
 * `prometheus:<service>`, the release judged from that source only, and every way of having no
 * data — a failing query, no series, a stale source, no URL — named as "no data from Prometheus".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricWindow, Release, Service } from '../core/types.js';
import { releaseFixture } from '../../test/support/release-fixture.js';
import type { PrometheusSource, PrometheusSourceOptions, TargetHealth } from '../providers/metrics/prometheus.js';
import type { Store } from '../store/store.js';
import { createPrometheusEvidence } from './prometheus-evidence.js';

const release = (id: string, service: string): Release => releaseFixture({ id, service });
const service = (name: string, metrics: Service['metrics']): Service => ({
  name,
  match: { pathPrefix: `/${name}` },
  stickiness: { cookie: 'tern_uid' },
  stable: { version: 'v1', endpoints: [] },
  rules: [],
  ...(metrics ? { metrics } : {}),
  createdAt: 0,
  updatedAt: 0,
});

describe('Prometheus evidence in the controller', () => {
  it('reads only Prometheus-sourced releases, stores their windows under their source, and names every lack of data', async () => {
    let now = 100_000;
    const appended: Array<[string, number]> = [];
    const store = {
      appendMetricWindows: (source: string, w: readonly MetricWindow[]) => (appended.push([source, w.length]), Promise.resolve()),
    };
    const health = new Map<string, TargetHealth>();
    const made: PrometheusSourceOptions[] = [];
    let closed = 0;
    const createSource = (o: PrometheusSourceOptions): PrometheusSource => {
      made.push(o);
      return {
        name: o.name,
        windowMs: o.windowMs ?? 10_000,
        queries: o.queries,
        poll: () => Promise.resolve(),
        health: (t) => health.get(t.version),
        latencyBounds: () => [100, 250],
        drainWindows: () => [
          {
            releaseId: 'r1',
            version: 'v2',
            windowStart: 0,
            windowMs: 1000,
            requests: 1,
            errors: 0,
            latency: {},
            feedbackSum: 0,
            feedbackCount: 0,
          },
        ],
        close: () => ((closed += 1), Promise.resolve()),
      };
    };
    const evidence = createPrometheusEvidence({
      store: store as unknown as Store,
      clock: () => now,
      defaultUrl: 'http://prom:9090',
      createSource,
    });
    const prom = service('shop', { source: 'prometheus', prometheus: { template: 'tern-gateway', scrapeIntervalMs: 1000 } });
    const plain = service('plain', undefined);
    const r1 = release('r1', 'shop');
    const r2 = release('r2', 'plain');
    await evidence.sync([r1, r2], [prom, plain]);
    assert.equal(made.length, 1, 'one source, for the Prometheus-sourced release only');
    assert.deepEqual(
      made[0]!.targets().map((t) => [t.version, t.role]),
      [
        ['v2', 'canary'],
        ['v1', 'stable'],
      ],
    );
    assert.deepEqual(appended, [['prometheus:shop', 1]]);
    assert.deepEqual(evidence.sourcesOf(r1), ['prometheus:shop', '']);
    assert.equal(evidence.sourcesOf(r2), undefined, 'built-in evidence: every source');
    assert.deepEqual(evidence.latencyBounds(r1), [100, 250]);
    assert.equal(evidence.latencyBounds(r2), undefined);

    const fresh = (end: number): TargetHealth => ({ error: null, empty: null, lastDataEnd: end, since: 0 });
    health.set('v2', fresh(now - 1000));
    health.set('v1', fresh(now - 1000));
    assert.equal(evidence.noData(r1, now), null);
    assert.equal(evidence.noData(r2, now), null);
    health.set('v2', { ...fresh(now - 1000), error: 'fetch failed: connect ECONNREFUSED' });
    assert.equal(evidence.noData(r1, now), 'no data from Prometheus: canary v2: fetch failed: connect ECONNREFUSED');
    health.set('v2', fresh(now - 1000));
    now += 60_000;
    const stale = evidence.noData(r1, now);
    assert.equal(stale, 'no data from Prometheus: canary v2: no window since 1970-01-01T00:01:39.000Z (stale after 7 s)');
    now += 5000;
    assert.equal(evidence.noData(r1, now), stale, 'the same outage reads the same (written once)');
    health.set('v2', { ...fresh(now - 61_000), empty: 'sum(x{role="canary"})' });
    assert.equal(evidence.noData(r1, now), 'no data from Prometheus: canary v2: sum(x{role="canary"}) returned no series');

    await evidence.sync([r2], [prom, plain]);
    assert.equal(closed, 1, 'a release no longer active stops its source');
    assert.equal(evidence.noData(r1, now), null);

    const nowhere = createPrometheusEvidence({ store: store as unknown as Store, clock: () => now, createSource });
    await nowhere.sync([r1], [prom]);
    assert.match(nowhere.noData(r1, now) ?? '', /^no data from Prometheus: no Prometheus URL/);
  });
});

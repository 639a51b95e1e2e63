/**
 * The Prometheus MetricSource against a real Prometheus (Debian's 2.42, on a free port, its
 * own config and storage) scraping a node:http exporter every second: the per-version counts
 * the source reads add up exactly to what the exporter counted, errors likewise, latency lands
 * in the exporter's `le` buckets (at their upper bounds), a re-read gives the same windows (the
 * store replaces them), and a Prometheus that cannot answer yields no windows rather than zeros.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { quantile, totalCount } from '../src/core/latency-histogram.js';
import type { MetricWindow } from '../src/core/types.js';
import { forVersion, prometheusMetricSource, type PrometheusQueries } from '../src/providers/metrics/prometheus.js';
import { freePort, monitoringAvailable, startPrometheus, stopDaemons } from './support/monitoring.js';

const QUERIES: PrometheusQueries = {
  requests: 'sum(shop_requests_total{version="$version"})',
  errors: 'sum(shop_requests_total{version="$version",code=~"5.."})',
  latencyBuckets: 'sum by (le) (shop_request_duration_seconds_bucket{version="$version"})',
};
const TARGETS = [
  { releaseId: 'rel-1', version: 'v1' },
  { releaseId: 'rel-1', version: 'v2' },
];

const sumOf = (windows: readonly MetricWindow[], version: string, pick: (w: MetricWindow) => number): number =>
  windows.filter((w) => w.version === version).reduce((n, w) => n + pick(w), 0);

describe('Prometheus MetricSource', { skip: !monitoringAvailable() && 'prometheus is not installed', timeout: 120_000 }, () => {
  let dir = '';
  let exporter: Server;
  let prometheus = '';
  const registry = new Registry();
  const requests = new Counter({ name: 'shop_requests_total', help: 'requests', labelNames: ['version', 'code'], registers: [registry] });
  const duration = new Histogram({
    name: 'shop_request_duration_seconds',
    help: 'latency',
    labelNames: ['version'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-prom-source-'));
    exporter = createServer((_req, res) => {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => exporter.listen(port, '127.0.0.1', resolve));
    prometheus = (await startPrometheus(dir, [{ job: 'shop', url: `http://127.0.0.1:${port}/metrics` }])).url;
    // Prometheus applies new targets a few seconds after it starts: wait for its first scrape.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const up = (await (await fetch(`${prometheus}/api/v1/query?query=up%7Bjob%3D%22shop%22%7D`)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      if (up.data.result[0]?.value[1] === '1') break;
      if (Date.now() > deadline) throw new Error('Prometheus never scraped the exporter');
      await sleep(200);
    }
  });
  after(async () => {
    await stopDaemons();
    await new Promise<void>((resolve) => exporter.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reads exact per-version counts and bucketed latency; a re-read gives the same windows', async () => {
    // Both sources poll at the same instant: a window boundary passing between their polls would
    // let the second read one window more (a difference of timing, not of counts).
    let frozen: number | null = null;
    const options = {
      clock: () => frozen ?? Date.now(),
      name: 'prom-shop',
      url: prometheus,
      queries: QUERIES,
      targets: () => TARGETS,
      windowMs: 2000,
      lagMs: 2500,
      pollMs: 60_000,
    };
    const source = prometheusMetricSource(options);
    const again = prometheusMetricSource(options); // a restarted control plane reading the same windows
    const sent = { v1: 0, v2: 0, v2errors: 0 };
    const until = Date.now() + 6_000;
    for (let tick = 0; Date.now() < until; tick++) {
      for (let i = 0; i < 9; i++) {
        requests.labels('v1', '200').inc();
        duration.labels('v1').observe(0.008);
        sent.v1++;
      }
      const failed = tick % 5 === 0;
      requests.labels('v2', failed ? '503' : '200').inc();
      duration.labels('v2').observe(0.08);
      sent.v2++;
      if (failed) sent.v2errors++;
      await sleep(50);
    }
    await sleep(6_000); // the last increments scraped, and their window past the lag
    frozen = Date.now();
    await source.poll();
    await again.poll();
    frozen = null;
    const windows = source.drainWindows(Date.now());
    assert.ok(
      windows.length >= 6,
      `${windows.length} windows: ${JSON.stringify(windows.map((w) => [w.version, w.windowStart % 100000, w.requests]))} sent ${JSON.stringify(sent)}`,
    );
    assert.deepEqual(
      [sumOf(windows, 'v1', (w) => w.requests), sumOf(windows, 'v2', (w) => w.requests), sumOf(windows, 'v2', (w) => w.errors)],
      [sent.v1, sent.v2, sent.v2errors],
      'consecutive windows add up to exactly what was counted',
    );
    assert.ok(sent.v2errors > 0);
    for (const w of windows) {
      assert.equal(w.windowMs, 2000);
      assert.equal(w.windowStart % 2000, 0);
      assert.equal(totalCount(w.latency), w.requests, 'every counted request is in the histogram');
      if (w.requests > 0) assert.ok(Math.abs((quantile(w.latency, 0.5) ?? 0) - (w.version === 'v1' ? 10 : 100)) <= 1, JSON.stringify(w));
    }
    assert.deepEqual(again.drainWindows(Date.now()), windows, 'a re-read has the same keys and counts: the store replaces, never adds');
    await source.poll();
    assert.deepEqual(source.drainWindows(Date.now()), [], 'each window read once');
    await Promise.all([source.close(), again.close()]);
  });

  it('a Prometheus that cannot answer, or a query it refuses, yields no windows (the judges hold), never zeros', async () => {
    const down = prometheusMetricSource({
      name: 'prom-down',
      url: `http://127.0.0.1:${await freePort()}`,
      queries: QUERIES,
      targets: () => TARGETS,
      windowMs: 1000,
      lagMs: -60_000, // windows "closed" a minute into the future: there is always something to read
      timeoutMs: 1000,
    });
    const bad = prometheusMetricSource({
      name: 'prom-bad',
      url: prometheus,
      queries: { ...QUERIES, requests: 'sum(shop_requests_total{version="$version"' },
      targets: () => TARGETS,
      windowMs: 1000,
      lagMs: -60_000,
    });
    await Promise.all([down.poll(), bad.poll()]);
    assert.deepEqual(down.drainWindows(Date.now()), []);
    assert.deepEqual(bad.drainWindows(Date.now()), []);
    await Promise.all([down.close(), bad.close()]);
  });

  it('quotes the version into PromQL safely', () => {
    assert.equal(forVersion('x{version="$version"}', 'v"1\\'), 'x{version="v\\"1\\\\"}');
  });
});

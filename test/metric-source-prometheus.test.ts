/**
 * The MetricSource contract against Prometheus: a plain node proxy in front of the suite's
 * backends counts every request it forwards with prom-client (a counter by version and status
 * code, a latency histogram with the usual `le` buckets), a real Prometheus (Debian's, free port,
 * own config) scrapes it every second, and prometheusMetricSource reads 2 s windows 2.5 s after
 * they close. Latency resolution: the exporter's buckets. A re-read is a second source started
 * where the first started, polled at the same instant (a restarted control plane).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Histogram, Registry } from 'prom-client';
import { request } from 'undici';
import { metricSourceContract } from '../src/providers/metrics/contract.js';
import { prometheusMetricSource, type PrometheusSourceOptions } from '../src/providers/metrics/prometheus.js';
import { freePort, monitoringAvailable, startPrometheus, stopDaemons } from './support/monitoring.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const WINDOW_MS = 2000;
const LAG_MS = 2500;

async function listen(server: Server): Promise<string> {
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return `http://127.0.0.1:${port}`;
}

if (!monitoringAvailable()) {
  process.stdout.write('# skipped: prometheus is not installed\n');
} else {
  metricSourceContract('prometheus', async ({ releaseId, backends }) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tern-metric-contract-'));
    const registry = new Registry();
    const requests = new Counter({
      name: 'contract_requests_total',
      help: 'requests',
      labelNames: ['version', 'code'],
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'contract_request_duration_seconds',
      help: 'latency',
      labelNames: ['version'],
      buckets: BUCKETS,
      registers: [registry],
    });
    // The proxy: the version from `x-version`, the answer and its status passed through.
    const proxy = createServer((req, res) => {
      const version = req.headers['x-version'] === 'v2' ? 'v2' : 'v1';
      const started = performance.now();
      void request(`${backends[version]}${req.url ?? '/'}`, { headers: { 'x-fail': String(req.headers['x-fail'] ?? '0') } })
        .then(async (answer) => {
          const body = await answer.body.text();
          requests.labels(version, String(answer.statusCode)).inc();
          duration.labels(version).observe((performance.now() - started) / 1000);
          res.writeHead(answer.statusCode, { 'content-type': 'text/plain' }).end(body);
        })
        .catch(() => res.writeHead(502).end());
    });
    const exporter = createServer((_req, res) => {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    });
    const [url, exporterUrl] = [await listen(proxy), await listen(exporter)];
    const prometheus = (await startPrometheus(dir, [{ job: 'contract', url: `${exporterUrl}/metrics` }])).url;
    for (const deadline = Date.now() + 30_000; ; await sleep(200)) {
      const up = (await (await fetch(`${prometheus}/api/v1/query?query=up%7Bjob%3D%22contract%22%7D`)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      if (up.data.result[0]?.value[1] === '1') break;
      if (Date.now() > deadline) throw new Error('Prometheus never scraped the exporter');
    }
    let readAt: number | null = null;
    const from = Date.now();
    const options: PrometheusSourceOptions = {
      name: 'prom-contract',
      url: prometheus,
      queries: {
        requests: 'sum(contract_requests_total{version="$version"})',
        errors: 'sum(contract_requests_total{version="$version",code=~"5.."})',
        latencyBuckets: 'sum by (le) (contract_request_duration_seconds_bucket{version="$version"})',
      },
      targets: () => ['v1', 'v2', 'v3'].map((version) => ({ releaseId, version })),
      windowMs: WINDOW_MS,
      lagMs: LAG_MS,
      pollMs: 600_000,
      from,
      maxWindowsPerPoll: 1000,
      clock: () => readAt ?? Date.now(),
    };
    const source = prometheusMetricSource(options);
    return {
      source,
      url,
      windowMs: WINDOW_MS,
      resolution: { boundsMs: BUCKETS.map((b) => b * 1000) },
      settle: async () => {
        // The last request's window and the next closed, scraped (1 s, and a second to spare) and past the lag.
        await sleep(2 * WINDOW_MS + LAG_MS + 2000);
        readAt = Date.now();
        await source.poll();
        return source.drainWindows(readAt);
      },
      reread: async () => {
        const again = prometheusMetricSource(options);
        await again.poll();
        const windows = again.drainWindows(Date.now());
        await again.close();
        return windows;
      },
      close: async () => {
        await source.close();
        await stopDaemons();
        await Promise.all([proxy, exporter].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

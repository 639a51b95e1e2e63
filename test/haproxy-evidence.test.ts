/**
 * The HAProxy data plane's evidence on a real HAProxy 2.6: per release/version/second windows
 * whose requests and errors are exactly what was sent and answered, and whose latency holds
 * the 1-in-N sample (`latencySampleRate`), with the canary's slowness visible in it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Pool } from 'undici';
import { quantile, totalCount, mergeInto, type LatencyHistogram } from '../src/core/latency-histogram.js';
import type { MetricWindow, RouteEntry } from '../src/core/types.js';
import { startHaproxyDataPlane, type HaproxyDataPlane } from '../src/providers/routers/haproxy/data-plane.js';

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skip = !haveHaproxy() && process.env.CI !== 'true' ? 'haproxy is not installed' : false;

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** An upstream answering its version; the canary fails every 5th request and takes 30 ms. */
async function upstream(version: string, opts: { failEvery?: number; delayMs?: number }): Promise<{ url: string; close(): Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    const fail = opts.failEvery !== undefined && ++n % opts.failEvery === 0;
    setTimeout(() => {
      res.statusCode = fail ? 500 : 200;
      res.end(version);
    }, opts.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('HAProxy evidence', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let plane: HaproxyDataPlane;
  let ups: Array<Awaited<ReturnType<typeof upstream>>>;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-haproxy-ev-'));
    ups = await Promise.all([upstream('v1', {}), upstream('v2', { failEvery: 5, delayMs: 30 })]);
    const port = await freePort();
    plane = await startHaproxyDataPlane({
      name: 'hap-test',
      dir,
      listen: { host: '127.0.0.1', port },
      sampleEvery: 4,
      logger: pino({ level: 'silent' }),
    });
    url = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await plane?.close({ stopProxy: true });
    await Promise.all(ups?.map((u) => u.close()) ?? []);
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts every request and 5xx per version exactly, and samples latency 1 in N', async () => {
    const route: RouteEntry = {
      service: 'web',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user', cookie: 'tern_uid' },
      rules: [],
      stable: { version: 'v1', endpoints: [ups[0]!.url] },
      canary: {
        version: 'v2',
        endpoints: [ups[1]!.url],
        weight: 5000,
        salt: 'c2FsdHNhbHRzYWx0c2FsdA',
        releaseId: 'rel-ev',
        bucketHash: 'xxh32',
      },
    };
    await plane.router.apply({ version: 1, routes: [route] });
    await new Promise((r) => setTimeout(r, 1200)); // a counters baseline
    const sent = new Map<string, { requests: number; errors: number }>();
    const pool = new Pool(url, { connections: 8 });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 800) {
        const res = await pool.request({ method: 'GET', path: '/', headers: { 'x-user': `ev-${next++}` } });
        const v = await res.body.text();
        const c = sent.get(v) ?? { requests: 0, errors: 0 };
        c.requests++;
        if (res.statusCode >= 500) c.errors++;
        sent.set(v, c);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await pool.close();
    await new Promise((r) => setTimeout(r, 3200)); // the last second read and settled
    const windows: MetricWindow[] = plane.source!.drainWindows(Date.now());
    const got = new Map<string, { requests: number; errors: number; latency: LatencyHistogram; rate: Set<number | undefined> }>();
    for (const w of windows) {
      assert.equal(w.releaseId, 'rel-ev');
      // The control plane rejects a push holding a window with more samples than requests.
      assert.ok(
        totalCount(w.latency) <= w.requests,
        `window ${w.windowStart} ${w.version}: ${totalCount(w.latency)} samples, ${w.requests} requests`,
      );
      const g = got.get(w.version) ?? { requests: 0, errors: 0, latency: {}, rate: new Set() };
      g.requests += w.requests;
      g.errors += w.errors;
      mergeInto(g.latency, w.latency);
      g.rate.add(w.latencySampleRate);
      got.set(w.version, g);
    }
    for (const v of ['v1', 'v2']) {
      assert.equal(got.get(v)?.requests, sent.get(v)?.requests, `${v} requests`);
      assert.equal(got.get(v)?.errors, sent.get(v)?.errors, `${v} errors`);
      assert.deepEqual([...got.get(v)!.rate], [0.25]);
    }
    assert.equal(got.get('v1')!.errors, 0);
    assert.ok(got.get('v2')!.errors > 0);
    const samples = totalCount(got.get('v1')!.latency) + totalCount(got.get('v2')!.latency);
    assert.ok(Math.abs(samples - 200) <= 2, `expected 800/4 latency samples, got ${samples}`);
    assert.ok(quantile(got.get('v2')!.latency, 0.5)! >= 29, 'the canary takes 30 ms');
    assert.ok(quantile(got.get('v1')!.latency, 0.5)! < 29);
    console.log(`evidence: sent ${JSON.stringify(Object.fromEntries(sent))}; windows ${windows.length}; latency samples ${samples}`);
  });
});

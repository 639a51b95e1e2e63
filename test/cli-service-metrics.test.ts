/**
 * `tern service create|update` with a Prometheus metric source, through the real command tree
 * (runCli) against a real API on a loopback socket: the flags reach the server as the API's
 * `metrics`, `service get` shows the template and the queries it expands to, a bad source is
 * refused with the field named, and `--metrics-source builtin` goes back to Tern's own evidence.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.js';
import { type Harness, startHarness } from './api-harness.js';

describe('tern service … --prometheus-*', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(async () => h.close());

  async function tern(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
    // The CLI writes some lines straight to the process streams: capture those too.
    const capture = (stream: NodeJS.WriteStream, sink: (s: string) => void) => {
      const original = stream.write.bind(stream);
      stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
        if (typeof chunk !== 'string') return original(chunk, ...rest);
        sink(chunk.replace(/\n$/, ''));
        return true;
      };
      return () => void (stream.write = original);
    };
    const restore = [capture(process.stdout, io.out), capture(process.stderr, io.err)];
    try {
      const code = await runCli(['--url', url, '--token', h.tokens.admin, ...args], io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      for (const r of restore) r();
    }
  }

  it('creates a Prometheus-sourced service from a template and shows its queries', async () => {
    const created = await tern(
      'service',
      'create',
      'shop',
      '--path-prefix',
      '/shop',
      '--stable-version',
      'v1',
      '--endpoint',
      'http://127.0.0.1:9001',
      '--prometheus-template',
      'haproxy',
      '--prometheus-param',
      'backend=shop_$role',
      '--scrape-interval',
      '5s',
    );
    assert.equal(created.code, 0, created.err);
    const got = await tern('service', 'get', 'shop');
    assert.match(got.out, /prometheus: haproxy \(server default URL\), scraped every 5 s/);
    assert.match(got.out, /requests: sum\(haproxy_backend_http_requests_total\{proxy="shop_\$role"\}\)/);
    assert.deepEqual((await h.store.getService('shop'))?.metrics, {
      source: 'prometheus',
      prometheus: { template: 'haproxy', params: { backend: 'shop_$role' }, scrapeIntervalMs: 5000 },
    });
  });

  it('update overrides one query and keeps the rest; a query without $version is refused naming the field', async () => {
    const ok = await tern(
      'service',
      'update',
      'shop',
      '--prometheus-query',
      'errors=sum(haproxy_backend_http_responses_total{proxy="shop_$role",code=~"5xx|4xx"})',
    );
    assert.equal(ok.code, 0, ok.err);
    const m = (await h.store.getService('shop'))?.metrics?.prometheus;
    assert.equal(m?.template, 'haproxy');
    assert.equal(m?.params?.backend, 'shop_$role');
    assert.match(m?.queries?.errors ?? '', /4xx/);
    const bad = await tern(
      'service',
      'update',
      'shop',
      '--prometheus-template',
      'custom',
      '--prometheus-query',
      'requests=sum(http_requests_total)',
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /body\.metrics\.prometheus\.queries\.requests/);
    const back = await tern('service', 'update', 'shop', '--metrics-source', 'builtin');
    assert.equal(back.code, 0, back.err);
    assert.match((await tern('service', 'get', 'shop')).out, /Metrics\s+builtin/);
  });
});

/**
 * Custom checks from the CLI: `tern release start --analysis-file` carries
 * `checks` to the release as the API stores them, `release status` says each in words, and a
 * check without `$version` exits 2 naming the field before any request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.js';
import { type Harness, type ReleaseJson, serviceBody, startHarness } from './api-harness.js';

describe('release start --analysis-file with custom checks', () => {
  let h: Harness;
  let url: string;
  let dir: string;

  before(async () => {
    h = await startHarness({ prometheusUrl: 'http://127.0.0.1:9090' });
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(path.join(tmpdir(), 'tern-cli-checks-'));
    assert.equal((await h.call('POST', '/api/v1/services', { body: serviceBody('shop') })).statusCode, 201);
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `tern args…` in this process, capturing what it writes. */
  async function tern(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const capture = (stream: NodeJS.WriteStream, sink: string[]) => {
      const original = stream.write.bind(stream);
      stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
        if (typeof chunk !== 'string') return original(chunk, ...rest);
        sink.push(chunk.replace(/\n$/, ''));
        return true;
      };
      return () => void (stream.write = original);
    };
    const restore = [capture(process.stdout, out), capture(process.stderr, err)];
    try {
      const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
      const code = await runCli(['--url', url, '--token', h.tokens.admin, ...args], io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      for (const r of restore) r();
    }
  }

  it('sends the checks, reads them back and says them in words', async () => {
    const file = path.join(dir, 'analysis.yaml');
    await writeFile(
      file,
      [
        'checks:',
        '  - name: checkout-failures',
        '    kind: ratio',
        '    events: sum(shop_checkout_failures_total{version="$version"}) or vector(0)',
        '    total: sum(shop_checkouts_total{version="$version"})',
        '    max: 0.05',
        '  - name: feedback-score',
        '    kind: gauge',
        '    query: avg(shop_feedback_score{version="$version"})',
        '    direction: higher-is-better',
        '    min: 3.5',
        '',
      ].join('\n'),
    );
    const started = await tern(
      '-o',
      'json',
      'release',
      'start',
      'shop',
      '--version',
      'v2',
      '--endpoint',
      'http://127.0.0.1:9002',
      '--analysis-file',
      file,
    );
    assert.equal(started.code, 0, started.err);
    const id = (JSON.parse(started.out) as ReleaseJson).id;
    const stored = (await h.call('GET', `/api/v1/releases/${id}`)).json<ReleaseJson>().analysis.checks;
    assert.deepEqual(
      stored.map((c) => [c.name, c.kind, c.max ?? c.min]),
      [
        ['checkout-failures', 'ratio', 0.05],
        ['feedback-score', 'gauge', 3.5],
      ],
    );
    const status = await tern('release', 'status', id);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /checkout-failures \(ratio from Prometheus\): fails above 1\.1× stable and \+0\.1 pp; ceiling 5%/);
    assert.match(status.out, /feedback-score \(gauge from Prometheus, threshold\): fails when below 3\.5 at 3 looks in a row/);
    assert.equal((await h.call('POST', `/api/v1/releases/${id}/rollback`, { body: {} })).statusCode, 200);
  });

  it('exits 2 naming the field of a check without $version, before any request', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ checks: [{ name: 'c', kind: 'gauge', query: 'avg(score)', min: 3 }] }));
    const before = (await h.call('GET', '/api/v1/services/shop/releases')).json<{ releases: unknown[] }>().releases.length;
    const run = await tern('release', 'start', 'shop', '--version', 'v3', '--endpoint', 'http://127.0.0.1:9003', '--analysis-file', file);
    assert.equal(run.code, 2);
    assert.match(run.err, /analysis\.checks\[0\]\.query: no \$version in "avg\(score\)"/);
    assert.equal((await h.call('GET', '/api/v1/services/shop/releases')).json<{ releases: unknown[] }>().releases.length, before);
  });
});

/**
 * `tern release start` with analysis settings, through the real command tree (runCli) against a
 * real API on a loopback socket: flags and `--analysis-file` reach the release as the API stores
 * it, `release status` says the settings in plain words, and bad values exit 2 before any request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.js';
import { type Harness, type ReleaseJson, serviceBody, startHarness } from './api-harness.js';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describe('release start analysis flags against a real API', () => {
  let h: Harness;
  let url: string;
  let dir: string;

  before(async () => {
    h = await startHarness();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(path.join(tmpdir(), 'tern-cli-analysis-'));
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs `tern args…` in this process. Commands write through processIo (process.stdout/stderr),
   * so both streams are captured while it runs.
   */
  async function tern(...args: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
    // Only the CLI's text is captured: the test runner's own reports (binary) pass through.
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

  async function service(name: string): Promise<void> {
    const res = await h.call('POST', '/api/v1/services', { body: serviceBody(name) });
    assert.equal(res.statusCode, 201, res.body);
  }

  it('sends every setting: the file first, the flags over it', async () => {
    await service('shop');
    const file = path.join(dir, 'analysis.yaml');
    await writeFile(
      file,
      ['judge: sequential', 'latency:', '  tolerance: 0.3', '  p99MaxMs: 800', 'errorRate:', '  minDifference: 0.002', 'warmup: 30s'].join(
        '\n',
      ),
    );
    const run = await tern(
      ...['release', 'start', 'shop', '--version', 'v2', '--endpoint', 'http://127.0.0.1:9002', '-o', 'json'],
      ...['--analysis-file', file, '--latency-tolerance', '5ms', '--error-tolerance', '100%', '--error-max', '2%'],
      ...['--feedback-min', '3.5', '--min-requests', '50', '--interval', '2s', '--warmup', '10s'],
    );
    assert.equal(run.code, 0, run.err);
    const r = JSON.parse(run.out) as ReleaseJson;
    assert.deepEqual(r.analysis.latency, { tolerance: 0.3, minDifferenceMs: 5, p99MaxMs: 800 });
    assert.deepEqual(r.analysis.errorRate, { tolerance: 1, minDifference: 0.002, max: 0.02 });
    assert.deepEqual(r.analysis.feedback, { tolerance: 0.5, minScore: 3.5 });
    assert.equal(r.analysis.minRequests, 50);
    assert.equal(r.analysis.intervalMs, 2000);
    assert.equal(r.analysis.warmupMs, 10_000);

    const status = await tern('release', 'status', r.id);
    assert.equal(status.code, 0, status.err);
    for (const words of [
      'sequential judge, looks every 2 s, 50 requests per version; on failure: roll back',
      'latency: fails when 30% and 5 ms slower; p99 ceiling 800 ms',
      'errors: above 2× stable and +0.2 pp; ceiling 2%',
      'warm-up 10 s',
      'feedback: fails when 0.5 points below stable or below 3.5',
    ]) {
      assert.ok(status.out.includes(words), `release status shows "${words}":\n${status.out}`);
    }
  });

  it('shows the defaults in plain words when no setting is given', async () => {
    await service('cart');
    const run = await tern('release', 'start', 'cart', '--version', 'v2', '--endpoint', 'http://127.0.0.1:9003', '-o', 'json');
    assert.equal(run.code, 0, run.err);
    const status = await tern('release', 'status', (JSON.parse(run.out) as ReleaseJson).id);
    assert.match(status.out, /latency: fails when 20% and 5 ms slower; no p99 ceiling/);
    assert.match(status.out, /errors: above 1\.1× stable and \+0\.05 pp; ceiling 5%/);
    assert.match(status.out, /warm-up 10 s/);
    assert.match(status.out, /feedback: not checked/);
  });

  it('exits 2 on a bad value, saying what is accepted, and sends nothing', async () => {
    await service('books');
    const start = ['release', 'start', 'books', '--version', 'v2', '--endpoint', 'http://127.0.0.1:9004'];
    const cases: Array<[string[], RegExp]> = [
      [['--error-max', '7'], /expected a percent from 0% to 100% such as 5% \(or 0.05\), or none/],
      [['--p99-max', 'quick'], /expected a duration above 0 up to 60s such as 500ms or 1.5s, or none/],
      [['--latency-tolerance', '20%,5s'], /expected a percent such as 20%/],
      [['--feedback-min', '9'], /expected a score from 1 to 5/],
      [['--threshold', 'x'], /expected a whole number from 1 to 1000/],
      [['--analysis-file', path.join(dir, 'bad.yaml')], /analysis\.latency: unknown field "tolerence"/],
    ];
    await writeFile(path.join(dir, 'bad.yaml'), 'latency: { tolerence: 0.3 }\n');
    for (const [flags, message] of cases) {
      const run = await tern(...start, ...flags);
      assert.equal(run.code, 2, `${flags.join(' ')}: ${run.err}`);
      assert.match(run.err, message);
    }
    const releases = await h.call('GET', '/api/v1/services/books/releases');
    assert.deepEqual(releases.json<{ releases: unknown[] }>().releases, [], 'no release was started');
    const missing = await tern(...start, '--analysis-file', path.join(dir, 'missing.yaml'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read .*missing\.yaml/);
  });
});

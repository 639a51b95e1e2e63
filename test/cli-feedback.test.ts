/**
 * `tern feedback submit` (the CLI's source, run as a real process through tsx, so no build is
 * needed) against a real API on a loopback socket: a feedback token records scores for the version the user saw, prints them as a table
 * or JSON, warns when a score cannot count for either version, and may do nothing else.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stickyBucket } from '../src/core/sticky.js';
import { type Harness, type TokenCreatedJson, serviceWithRelease, startHarness } from './api-harness.js';
import { ROOT, cleanEnv } from './support/processes.js';

const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('tern feedback submit', () => {
  let h: Harness;
  let url: string;
  let secret: string;
  let rel: string;
  before(async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    rel = await serviceWithRelease(h, 'shop', { steps: '50,100' });
    const created = await h.call('POST', '/api/v1/tokens', { body: { name: 'survey', role: 'feedback' } });
    secret = created.json<TokenCreatedJson>().secret;
  });
  after(() => h.close());

  function tern(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', MAIN, ...args],
        { cwd: ROOT, env: cleanEnv({ TERN_URL: url, TERN_TOKEN: secret }), timeout: 30_000, encoding: 'utf8' },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
  }

  it("records a score for the user's version and prints the API's answer with -o json", async () => {
    const salt = (await h.store.getRelease(rel))!.salt;
    const canaryUser = Array.from({ length: 50 }, (_, i) => `u-${i}`).find((u) => stickyBucket(salt, u) < 5_000)!;
    const run = await tern('feedback', 'submit', 'shop', '--score', '2', '--user', canaryUser, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { accepted: true, releaseId: rel, version: 'v2' });
    const windows = await h.store.listMetricWindows(rel);
    assert.deepEqual(
      windows.map((w) => [w.version, w.feedbackSum, w.feedbackCount]),
      [['v2', 2, 1]],
    );
  });

  it('prints a table, and warns when the score names neither a version nor a user during a release', async () => {
    const named = await tern('feedback', 'submit', 'shop', '--score', '5', '--version', 'v1');
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, /^Version\s+v1$/m);
    assert.match(named.stdout, new RegExp(`^Release\\s+${rel}$`, 'm'));
    assert.equal(named.stderr, '');

    const anonymous = await tern('feedback', 'submit', 'shop', '--score', '3');
    assert.equal(anonymous.code, 0, anonymous.stderr);
    assert.match(anonymous.stdout, /^Version\s+- \(in neither version's evidence\)$/m);
    assert.match(anonymous.stderr, /pass --user or --version/);
  });

  it('refuses a score outside 1-5 before sending it (exit 2), and a version that is not live (exit 4)', async () => {
    const bad = await tern('feedback', 'submit', 'shop', '--score', '7');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /expected a whole number from 1 to 5/);
    const unknown = await tern('feedback', 'submit', 'shop', '--score', '4', '--version', 'v9');
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /TERN_INVALID_REQUEST/);
  });

  it('a feedback token can do nothing else: reads are refused (exit 4, TERN_FORBIDDEN)', async () => {
    const list = await tern('release', 'list', 'shop');
    assert.equal(list.code, 4);
    assert.match(list.stderr, /TERN_FORBIDDEN/);
  });
});

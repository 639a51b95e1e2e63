/**
 * `tern release replay` against a real API server (real socket) whose store holds a release the
 * real controller ran: the table names each step's real outcome and the replay's, the failing
 * step's checks follow, `-o json` is the API's answer, and a viewer token is enough.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ReplayJson } from '../src/api/schemas/replay.js';
import { type Harness, startHarness } from './api-harness.js';
import { cleanEnv, ROOT } from './support/processes.js';
import { HEALTHY, type RealRun, runRealRelease } from './support/replay-scenarios.js';

describe('tern release replay', () => {
  let run: RealRun;
  let h: Harness;
  let url: string;
  before(async () => {
    run = await runRealRelease({ plan: '10:30s,50:30s,100', analysis: {}, canary: { ...HEALTHY, medianMs: 22 }, seed: 8 });
    h = await startHarness({ wrapStore: () => run.store });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await h.close();
    await run.store.close();
  });

  /** Runs the CLI from source in its own process, as a user's shell would. */
  function tern(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args],
        {
          cwd: ROOT,
          env: cleanEnv({ TERN_URL: url, TERN_TOKEN: h.tokens.viewer }),
          timeout: 60_000,
          killSignal: 'SIGKILL',
          encoding: 'utf8',
        },
        (err, out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out, err: stderr }),
      );
    });
  }

  it('prints, per step, what happened and when and why the replay would have failed', async () => {
    const { code, out, err } = await tern('release', 'replay', 'rel-1', '--latency-tolerance', '2%,0ms');
    assert.equal(code, 0, err);
    assert.match(out, /^Replay of rel-1 \(checkout v2\) with sequential judge, latency 2%,0ms, errors 10%,0\.05pp/);
    assert.match(out, /Would have rolled back at step \d [\d.]+ s after the release started; really it was promoted/);
    const rows = out.split('\n').filter((l) => /^\d\s/.test(l));
    assert.equal(rows.length, 3, out);
    assert.match(rows[0]!, /^1\s+10%\s+advanced after 30s\s+(passed after|FAILED after)/);
    assert.match(rows[2]!, /^3\s+100%\s+promoted after 1s\s+not reached/);
    assert.ok(
      rows.some((r) => /FAILED after \d+s \(roll back\)/.test(r)),
      out,
    );
    assert.match(out, /\n {2}latency +fail +p50 [\d.]+ ms canary vs [\d.]+ ms stable/);
    assert.match(out, /evidence comes from the real weight 50%/);
  });

  it('prints the API answer with -o json, and the release’s own settings without flags', async () => {
    const { code, out } = await tern('-o', 'json', 'release', 'replay', 'rel-1');
    assert.equal(code, 0);
    const report = JSON.parse(out) as ReplayJson;
    assert.equal(report.outcome.kind, 'promote');
    assert.equal(report.analysis.latency.tolerance, 0.2);
  });

  it('refuses a bad flag before asking the server, and says so for an unknown release', async () => {
    const bad = await tern('release', 'replay', 'rel-1', '--latency-tolerance', 'fast');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /not a latency tolerance|not a relative tolerance/);
    const missing = await tern('release', 'replay', 'no-such');
    assert.notEqual(missing.code, 0);
    assert.match(missing.err, /no release with id "no-such"/);
  });
});

/**
 * End to end: `tern release start --wait` and `tern release watch` — the real built CLI
 * (`node bin/tern`, run `npm run build` first) against a real `tern server` child process,
 * whose controller judges progressing releases every second. Checks what a pipeline sees: the
 * line-per-event output (plain and JSON), the final line, and the documented exit codes for
 * promoted (0), rolled back by hand and by the judge (10), timed out (13) and Ctrl-C (130).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bucketOf } from '../src/core/latency-histogram.js';
import { BIN, ROOT, cleanEnv, killAll, startTernServer } from './support/processes.js';

const CLI_TIMEOUT_MS = 15_000;
/** Nothing listens here: the canary gets no traffic, so the controller can only hold. */
const NO_SUCH_ENDPOINT = 'http://127.0.0.1:9';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A CLI process still running: its output so far, and its end. */
interface Waiter {
  readonly child: ChildProcess;
  stdout(): string;
  /** Resolves with the first match of `pattern` on stdout. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  readonly done: Promise<Run>;
}

function expectCode(run: Run, code: number): void {
  assert.equal(
    run.code,
    code,
    `expected exit ${code}, got ${run.code} (signal ${run.signal})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
  );
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

describe('tern release start --wait / watch against a real tern server', { timeout: 180_000 }, () => {
  let work: string;
  let apiUrl: string;
  let adminToken: string;
  const children = new Set<ChildProcess>();

  const env = (): NodeJS.ProcessEnv => cleanEnv({ TERN_URL: apiUrl, TERN_TOKEN: adminToken });

  /** Runs `tern args...` to completion; never rejects. */
  function tern(args: readonly string[]): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: work, env: env(), timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' },
        (err, stdout, stderr) => {
          children.delete(child);
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
        },
      );
      children.add(child);
    });
  }

  /** Starts `tern args...` in the background (stdout is a pipe, so the output is line-per-event). */
  function background(args: readonly string[], limitMs = 60_000): Waiter {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const listeners = new Set<() => void>();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      for (const l of listeners) l();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    const done = new Promise<Run>((resolve) =>
      child.once('close', (code, signal) => {
        clearTimeout(killer);
        children.delete(child);
        resolve({ code, signal, stdout, stderr });
      }),
    );
    const waitFor = (pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(stdout);
          if (!match) return;
          cleanup();
          resolve(match);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${ms} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, ms);
        const exited = (): void => {
          cleanup();
          reject(new Error(`exited before ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('close', exited);
        };
        listeners.add(check);
        child.once('close', exited);
        check();
      });
    return { child, stdout: () => stdout, waitFor, done };
  }

  async function createService(name: string): Promise<void> {
    const run = await tern([
      'service',
      'create',
      name,
      '--path-prefix',
      `/${name}`,
      '--stable-version',
      'v1',
      '--endpoint',
      NO_SUCH_ENDPOINT,
    ]);
    expectCode(run, 0);
  }

  async function startRelease(service: string, version: string, steps: string): Promise<string> {
    const run = await tern([
      'release',
      'start',
      service,
      '--version',
      version,
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--steps',
      steps,
      '-o',
      'json',
    ]);
    expectCode(run, 0);
    return (JSON.parse(run.stdout) as { id: string }).id;
  }

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'dist/cli/main.js is missing: run `npm run build` first');
    work = await mkdtemp(path.join(tmpdir(), 'tern-cli-wait-'));
    const dataDir = path.join(work, '.tern');
    const started = await startTernServer(dataDir);
    apiUrl = started.apiUrl;
    adminToken = started.adminToken;
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await killAll();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('start --wait holds without traffic, then exits 0 when promoted by hand', async () => {
    await createService('hand');
    const began = Date.now();
    const waiter = background([
      'release',
      'start',
      'hand',
      '--version',
      'v2',
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--steps',
      '10:2s,100',
      '--wait',
    ]);
    const [, id] = await waiter.waitFor(/^Started release (rel_\w+): hand v2 replacing v1, progressing, step 1\/2, weight 10%, hold 2s$/m);
    assert.ok(id);
    // The controller judges the step and, with no traffic at all, can only say inconclusive ...
    await waiter.waitFor(/ verdict inconclusive \(sequential judge, step 1\): error-rate /);
    // ... so the step outlives its 2 s hold, and the waiter keeps waiting.
    await new Promise((r) => setTimeout(r, Math.max(0, began + 3500 - Date.now())));
    assert.equal(waiter.child.exitCode, null, `the waiter is still waiting\n${waiter.stdout()}`);
    const status = JSON.parse((await tern(['release', 'status', id, '-o', 'json'])).stdout) as { status: string; stepIndex: number };
    assert.deepEqual([status.status, status.stepIndex], ['progressing', 0]);

    expectCode(await tern(['release', 'promote', id, '--reason', 'canary checked by hand']), 0);
    const run = await waiter.done;
    expectCode(run, 0);
    // The promotion moved it to step 2 (100%), which the controller then promoted; a poll may
    // see those moves together, so the first line after the promotion is either.
    assert.match(
      run.stdout,
      /^\d\d:\d\d:\d\dZ (progressing|promoting|promoted), step 2\/2, weight 100% \((canary checked by hand|step 2\/2 \(100%\) held; plan complete)\)$/m,
    );
    assert.match(run.stdout, /^\d\d:\d\d:\d\dZ promoted, step 2\/2, weight 100%/m);
    assert.match(
      lastLine(run.stdout),
      new RegExp(`^Promoted: hand v2 is now the stable version \\(release ${id}\\); by system, reason: .*plan complete$`),
    );
    assert.equal(run.stderr, '', 'nothing to warn about');
  });

  it('watch exits 10 when the release is rolled back by hand, with the reason on the last line', async () => {
    await createService('rollback');
    const id = await startRelease('rollback', 'v2', '10:5m,100');
    const waiter = background(['release', 'watch', id]);
    await waiter.waitFor(/^Watching release rel_\w+: rollback v2 replacing v1, progressing, step 1\/2, weight 10%, hold 5m$/m);
    expectCode(await tern(['release', 'rollback', id, '--reason', 'error budget burnt']), 0);
    const run = await waiter.done;
    expectCode(run, 10);
    assert.match(run.stdout, /^\d\d:\d\d:\d\dZ rolled_back, step 1\/2, weight 0% \(error budget burnt\)$/m);
    assert.equal(
      lastLine(run.stdout),
      `Rolled back: rollback v2 (release ${id}); every user is back on v1; by token:bootstrap-admin, reason: error budget burnt`,
    );
  });

  it('--timeout 2s stops waiting with exit 13 and leaves the release running', async () => {
    await createService('slow');
    const id = await startRelease('slow', 'v2', '10:5m,100');
    const began = Date.now();
    const run = await tern(['release', 'watch', id, '--timeout', '2s']);
    const took = Date.now() - began;
    expectCode(run, 13);
    assert.ok(took >= 2000 && took < 10_000, `took ${took} ms`);
    assert.match(
      lastLine(run.stdout),
      new RegExp(`^Timed out after 2s: release ${id} of slow v2 is still progressing at 10% \\(step 1 of 2\\); it keeps running$`),
    );
    assert.match(run.stderr, new RegExp(`Resume watching with: tern release watch ${id}`));
    const status = await tern(['release', 'status', id, '-o', 'json']);
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'progressing');
    expectCode(await tern(['release', 'rollback', id]), 0);
  });

  it('--output json prints one JSON object per line, ending with the outcome', async () => {
    await createService('json');
    const waiter = background([
      'release',
      'start',
      'json',
      '--version',
      'v2',
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--steps',
      '10:5m,100',
      '--wait',
      '-o',
      'json',
    ]);
    const [, id] = await waiter.waitFor(/"releaseId":"(rel_\w+)","event":"started"/);
    assert.ok(id);
    await waiter.waitFor(/"event":"verdict"/);
    expectCode(await tern(['release', 'rollback', id, '--reason', 'json test']), 0);
    const run = await waiter.done;
    expectCode(run, 10);
    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; releaseId: string; at: string; [k: string]: unknown });
    assert.deepEqual(
      events.map((e) => e.event),
      ['started', 'verdict', 'release', 'outcome'],
    );
    assert.ok(events.every((e) => e.releaseId === id && !Number.isNaN(Date.parse(e.at))));
    const outcome = events.at(-1);
    assert.equal(outcome?.outcome, 'rolled_back');
    assert.equal(outcome?.exitCode, 10);
    assert.equal(outcome?.reason, 'json test');
    assert.equal((outcome?.release as { status: string }).status, 'rolled_back');
  });

  it('an automatic rollback by the judge (simulated gateway metrics) ends the waiter with exit 10', async () => {
    await createService('auto');
    const token = await tern(['token', 'create', 'sim-gateway', '--role', 'gateway', '-o', 'json']);
    expectCode(token, 0);
    const gatewaySecret = (JSON.parse(token.stdout) as { secret: string }).secret;
    const waiter = background([
      'release',
      'start',
      'auto',
      '--version',
      'v2',
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--steps',
      '10:5m,100',
      '--wait',
    ]);
    const [, id] = await waiter.waitFor(/^Started release (rel_\w+):/m);
    assert.ok(id);
    // What a gateway would push at 10% weight: the canary fails 10% of requests, stable 0.5%.
    const latencyBucket = String(bucketOf(20)); // every request took 20 ms, on both versions
    const push = async (): Promise<void> => {
      const windowStart = Math.floor(Date.now() / 1000) * 1000;
      const w = (version: string, requests: number, errors: number) => ({
        releaseId: id,
        version,
        windowStart,
        windowMs: 1000,
        requests,
        errors,
        latency: { [latencyBucket]: requests },
      });
      const res = await fetch(`${apiUrl}/api/v1/dataplane/metrics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gatewaySecret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gateway: 'sim', windows: [w('v2', 200, 20), w('v1', 1800, 9)] }),
      });
      assert.equal(res.status, 202, await res.text());
    };
    const began = Date.now();
    while (waiter.child.exitCode === null && Date.now() - began < 30_000) {
      await push();
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), waiter.done]);
    }
    const run = await waiter.done;
    expectCode(run, 10);
    assert.ok(Date.now() - began < 30_000, 'rolled back within 30 s');
    assert.match(
      run.stdout,
      /^\d\d:\d\d:\d\dZ verdict fail \(sequential judge, step 1\): error-rate fail: canary [\d.]+% \(\d+\/\d+\) vs stable/m,
    );
    assert.match(
      lastLine(run.stdout),
      new RegExp(
        `^Rolled back: auto v2 \\(release ${id}\\); every user is back on v1; by system, reason: sequential judge failed step 1/2 \\(10%\\): error-rate: canary [\\d.]+% \\(\\d+/\\d+\\) vs stable`,
      ),
    );
  });

  it('Ctrl-C stops only the watching: exit 130, the release keeps running, and how to resume', async () => {
    await createService('ctrlc');
    const id = await startRelease('ctrlc', 'v2', '10:5m,100');
    const waiter = background(['release', 'watch', id]);
    await waiter.waitFor(/^Watching release /m);
    waiter.child.kill('SIGINT');
    const run = await waiter.done;
    expectCode(run, 130);
    assert.match(
      lastLine(run.stdout),
      new RegExp(`^Stopped watching: release ${id} of ctrlc v2 is still progressing at 10% \\(step 1 of 2\\); it keeps running$`),
    );
    assert.match(run.stderr, new RegExp(`^Resume watching with: tern release watch ${id}$`, 'm'));
    const status = await tern(['release', 'status', id, '-o', 'json']);
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'progressing');
  });

  it('watch exits 12 at once on a paused release, 4 or 3 when it cannot read it, and --help lists the codes', async () => {
    await createService('paused');
    const id = await startRelease('paused', 'v2', '10:5m,100');
    expectCode(await tern(['release', 'pause', id, '--reason', 'investigating']), 0);
    const run = await tern(['release', 'watch', id]);
    expectCode(run, 12);
    assert.match(
      lastLine(run.stdout),
      /^Paused: .*stopped waiting so the pipeline does not hang; by token:bootstrap-admin, reason: investigating$/,
    );
    assert.match(run.stderr, new RegExp(`tern release resume ${id}`));

    const unknown = await tern(['release', 'watch', 'rel_does_not_exist']);
    expectCode(unknown, 4);
    assert.match(unknown.stderr, /TERN_RELEASE_NOT_FOUND/);
    const nowhere = await tern(['release', 'watch', id, '--url', 'http://127.0.0.1:9']);
    expectCode(nowhere, 3);

    const help = await tern(['--help']);
    expectCode(help, 0);
    for (const code of ['10 rolled back', '11 failed', '12 paused', '13 --timeout passed', '130 interrupted'])
      assert.ok(help.stdout.includes(code), code);
  });
});

/**
 * End to end: webhook gates as a pipeline sees them through the real built CLI (`node bin/tern`,
 * run `npm run build` first) against a real `tern server` (allowed to call loopback) and a real
 * HTTP gate. A deliberate "no" (409 with a JSON reason) holds the release — `--wait`, `watch`
 * (lines, JSON lines, and the live block on a pseudo-terminal) and `release status` say "held by
 * gate … refused 409 'change freeze' since …" — and never rolls it back; an outage (503) holds
 * too but rolls back after `maxFailures`, saying "unreachable". Gates come from
 * `release start --webhook TYPE=URL` and `--webhooks-file`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, cleanEnv, killAll, startTernServer } from './support/processes.js';

const NO_SUCH_ENDPOINT = 'http://127.0.0.1:9';
/** ISO time to the second, as gate holds print it. */
const SINCE = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Gate {
  url: string;
  calls: number;
  answer: { status: number; body: string; json: boolean };
}

describe('webhook gates through the CLI', { timeout: 180_000 }, () => {
  let work: string;
  let apiUrl: string;
  let adminToken: string;
  let server: Server;
  const gate: Gate = { url: '', calls: 0, answer: { status: 200, body: '', json: false } };
  const children = new Set<ChildProcess>();
  const env = (): NodeJS.ProcessEnv => cleanEnv({ TERN_URL: apiUrl, TERN_TOKEN: adminToken });

  function tern(args: readonly string[], timeout = 15_000): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: work, env: env(), timeout, killSignal: 'SIGKILL', encoding: 'utf8' },
        (err, stdout, stderr) => {
          children.delete(child);
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
        },
      );
      children.add(child);
    });
  }

  /** `tern args...` in the background; `until` resolves once stdout matches. */
  function background(args: readonly string[]): { until(p: RegExp, ms?: number): Promise<RegExpExecArray>; done: Promise<Run> } {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const done = new Promise<Run>((resolve) =>
      child.once('close', (code) => {
        clearTimeout(killer);
        children.delete(child);
        resolve({ code, stdout, stderr });
      }),
    );
    const until = async (p: RegExp, ms = 20_000): Promise<RegExpExecArray> => {
      const end = Date.now() + ms;
      for (;;) {
        const m = p.exec(stdout);
        if (m) return m;
        if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${p}\nstdout: ${stdout}\nstderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    return { until, done };
  }

  /**
   * The hold as --wait shows it: in the "Started release …; held by gate …" line when the gate
   * had already answered before the start returned, else in the first line after it.
   */
  function heldLine(state: string, answer: string): RegExp {
    const hold = `held by gate pre-rollout \\(${gate.url}\\): ${answer} since ${SINCE}`;
    return new RegExp(`^(?:Started release rel_\\w+: .*; ${hold}|\\d\\d:\\d\\d:\\d\\dZ ${state} \\(${hold}\\))$`, 'm');
  }

  function expectCode(run: Run, code: number): void {
    assert.equal(run.code, code, `expected exit ${code}, got ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }

  function answer(status: number, reason?: string): void {
    gate.answer =
      reason === undefined ? { status, body: 'not for viewers', json: false } : { status, body: JSON.stringify({ reason }), json: true };
  }

  async function createService(name: string): Promise<void> {
    expectCode(
      await tern(['service', 'create', name, '--path-prefix', `/${name}`, '--stable-version', 'v1', '--endpoint', NO_SUCH_ENDPOINT]),
      0,
    );
  }

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'dist/cli/main.js is missing: run `npm run build` first');
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        gate.calls += 1;
        res.writeHead(gate.answer.status, { 'content-type': gate.answer.json ? 'application/json' : 'text/plain' }).end(gate.answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gate`;
    work = await mkdtemp(path.join(tmpdir(), 'tern-cli-gates-'));
    const started = await startTernServer(path.join(work, '.tern'), {}, ['--webhook-allow', '127.0.0.1']);
    apiUrl = started.apiUrl;
    adminToken = started.adminToken;
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await killAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('--wait shows "held by gate … refused 409 \'change freeze\' since …" while the gate says no, and goes on once it says yes', async () => {
    await createService('freeze');
    answer(409, 'change freeze');
    const waiter = background([
      'release',
      'start',
      'freeze',
      '--version',
      'v2',
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--steps',
      '10:1h,100',
      '--webhook',
      `pre-rollout=${gate.url}`,
      '--wait',
    ]);
    const [, id] = await waiter.until(/^Started release (rel_\w+): freeze v2 replacing v1, pending/m);
    await waiter.until(heldLine(`pending, step 1/2, weight 0%`, `refused 409 'change freeze'`));
    assert.ok(id);

    // Status, JSON lines and the live block say the same; many refusals never roll it back.
    const status = await tern(['release', 'status', id]);
    assert.match(
      status.stdout,
      new RegExp(`^Reason +held by gate pre-rollout \\(${gate.url}\\): refused 409 'change freeze' since ${SINCE}$`, 'm'),
    );
    // The API's release view names the gate and its answer, field by field.
    const view = JSON.parse((await tern(['release', 'status', id, '-o', 'json'])).stdout) as { gate: Record<string, unknown> | null };
    assert.deepEqual(
      { ...view.gate, since: typeof view.gate?.since },
      {
        gate: 'pre-rollout',
        hook: gate.url,
        answer: 'refused',
        status: 409,
        detail: 'HTTP 409 (not a 2xx answer)',
        reason: 'change freeze',
        failures: 0,
        maxFailures: 5,
        since: 'string',
      },
    );
    const json = await tern(['release', 'watch', id, '-o', 'json', '--timeout', '1s']);
    expectCode(json, 13);
    const first = JSON.parse(json.stdout.split('\n')[0]!) as { event: string; release: { status: string; reason: string } };
    assert.deepEqual([first.event, first.release.status], ['watching', 'pending']);
    assert.match(first.release.reason, /^held by gate pre-rollout .*: refused 409 'change freeze' since /);
    if (hasScript()) {
      const live = ptyRun(['release', 'watch', id, '--timeout', '2s'], 160);
      assert.match(
        live,
        /pending · step 1\/2 · weight 0% · held by gate pre-rollout \(http:\/\/127\.0\.0\.1:\d+\/gate\): refused 409 'change fr/,
      );
    }
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(gate.calls >= 3, `asked ${gate.calls} times`);
    assert.equal((JSON.parse((await tern(['release', 'status', id, '-o', 'json'])).stdout) as { status: string }).status, 'pending');

    answer(204);
    await waiter.until(/^\d\d:\d\d:\d\dZ progressing, step 1\/2, weight 10%/m, 30_000);
    const passed = JSON.parse((await tern(['release', 'status', id, '-o', 'json'])).stdout) as { gate: unknown };
    assert.equal(passed.gate, null, 'no gate holds it any more');
    expectCode(await tern(['release', 'promote', id, '--full']), 0);
    const run = await waiter.done;
    expectCode(run, 0);
  });

  it('an outage (503) holds saying "unreachable … (n/m failures)", then rolls back after maxFailures (--webhooks-file)', async () => {
    await createService('outage');
    answer(503, 'db password hunter2');
    const file = path.join(work, 'hooks.yaml');
    await writeFile(file, `- type: pre-rollout\n  url: ${gate.url}\n  maxFailures: 3\n  timeout: 2s\n`);
    const waiter = background([
      'release',
      'start',
      'outage',
      '--version',
      'v2',
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--webhooks-file',
      file,
      '--wait',
    ]);
    const [, id] = await waiter.until(/^Started release (rel_\w+): outage v2/m);
    await waiter.until(heldLine(`pending, step 1/\\d, weight 0%`, `unreachable, HTTP 503 \\(not a 2xx answer\\) \\([12]/3 failures\\)`));
    const run = await waiter.done;
    expectCode(run, 10);
    assert.match(
      run.stdout.trimEnd().split('\n').at(-1)!,
      new RegExp(
        `^Rolled back: outage v2 \\(release ${id}\\); every user is back on v1; by system, reason: gate pre-rollout \\(${gate.url}\\) unreachable: HTTP 503 \\(not a 2xx answer\\) \\(3/3 failures since ${SINCE}\\)$`,
      ),
    );
    assert.equal(run.stdout.includes('hunter2'), false, 'an outage body is never shown');
    const events = JSON.parse((await tern(['audit', '--service', 'outage', '-o', 'json'])).stdout) as {
      events: Array<{ action: string; detail: { answer?: string; failures?: number } | null }>;
    };
    const holds = events.events.filter((e) => e.action === 'release.gate');
    assert.ok(holds.length >= 2, `${holds.length} release.gate events`);
    assert.ok(holds.every((e) => e.detail?.answer === 'unreachable'));
  });

  it('--webhook and --webhooks-file refuse what the API would, naming the flag or field (exit 2)', async () => {
    const bad = await tern(['release', 'start', 'x', '--version', 'v2', '--webhook', `gate=${gate.url}`]);
    expectCode(bad, 2);
    assert.match(bad.stderr, /"gate=http:.*" is not TYPE=URL with TYPE one of pre-rollout, pre-promotion, confirm-step, event/);
    const file = path.join(work, 'bad-hooks.json');
    await writeFile(file, JSON.stringify([{ type: 'confirm-step', url: gate.url, maxFailures: 0 }]));
    const badFile = await tern(['release', 'start', 'x', '--version', 'v2', '--webhooks-file', file]);
    expectCode(badFile, 2);
    assert.match(badFile.stderr, /webhooks\[0\]\.maxFailures/);
  });

  /** Runs the CLI on a pseudo-terminal `columns` wide (util-linux `script`); returns what it drew. */
  function ptyRun(args: readonly string[], columns: number): string {
    const line = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
    const ran = spawnSync('script', ['-qec', `stty cols ${columns} rows 40; ${line}`, '/dev/null'], {
      cwd: work,
      env: env(),
      encoding: 'utf8',
      timeout: 20_000,
    });
    return ran.stdout;
  }

  function hasScript(): boolean {
    return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  }
});

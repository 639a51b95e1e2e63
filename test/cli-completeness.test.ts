/**
 * End to end through the real built CLI (`node bin/tern`, run `npm run build` first) against a
 * real `tern server`: the everyday corners of the CLI a pipeline or a person hits — `--output
 * json` on the commands that change things, `audit export --since` (once swallowed by `tern
 * audit`'s own --since), `release status` after `promote --full`, `release watch` on an ended
 * release, the live block on a terminal reporting 0 columns, and exit codes of unknown commands
 * with `--help`.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, cleanEnv, killAll, startTernServer } from './support/processes.js';

const NO_SUCH_ENDPOINT = 'http://127.0.0.1:9';
const ESC = String.fromCharCode(27);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('tern CLI corners against a real server', { timeout: 120_000 }, () => {
  let work: string;
  let apiUrl: string;
  let adminToken: string;
  const children = new Set<ChildProcess>();
  const env = (): NodeJS.ProcessEnv => cleanEnv({ TERN_URL: apiUrl, TERN_TOKEN: adminToken });

  function tern(args: readonly string[]): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: work, env: env(), timeout: 20_000, killSignal: 'SIGKILL', encoding: 'utf8' },
        (err, stdout, stderr) => {
          children.delete(child);
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
        },
      );
      children.add(child);
    });
  }

  function expectCode(run: Run, code: number): void {
    assert.equal(run.code, code, `expected exit ${code}, got ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }

  async function json<T>(args: readonly string[]): Promise<T> {
    const run = await tern([...args, '-o', 'json']);
    expectCode(run, 0);
    return JSON.parse(run.stdout) as T;
  }

  async function startRelease(service: string): Promise<string> {
    expectCode(
      await tern(['service', 'create', service, '--path-prefix', `/${service}`, '--stable-version', 'v1', '--endpoint', NO_SUCH_ENDPOINT]),
      0,
    );
    const r = await json<{ id: string }>([
      'release',
      'start',
      service,
      '--version',
      'v2',
      '--endpoint',
      NO_SUCH_ENDPOINT,
      '--steps',
      '10:1h,50:1h,100',
    ]);
    return r.id;
  }

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'dist/cli/main.js is missing: run `npm run build` first');
    work = await mkdtemp(path.join(tmpdir(), 'tern-cli-corners-'));
    const started = await startTernServer(path.join(work, '.tern'));
    apiUrl = started.apiUrl;
    adminToken = started.adminToken;
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await killAll();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('audit export --since keeps only the events since then (the header says so)', async () => {
    await startRelease('exported');
    const all = await tern(['audit', 'export']);
    expectCode(all, 0);
    const future = await tern(['audit', 'export', '--since', '2099-01-01T00:00:00Z']);
    expectCode(future, 0);
    const lines = future.stdout.trim().split('\n');
    const head = JSON.parse(lines[0]!) as { since: string | null };
    const end = JSON.parse(lines.at(-1)!) as { end: boolean; count: number };
    assert.equal(head.since, '2099-01-01T00:00:00.000Z');
    assert.deepEqual([end.end, end.count], [true, 0], 'no event is from the future');
    assert.ok((JSON.parse(all.stdout.trim().split('\n').at(-1)!) as { count: number }).count >= 2);
    const recent = await tern(['audit', 'export', '--since', '1h']);
    assert.match(recent.stdout.split('\n')[0]!, /"since":"\d{4}-\d\d-\d\dT/);
  });

  it('release status after promote --full shows the last step at 100%, and watch on the ended release prints its end', async () => {
    const id = await startRelease('full');
    const promoted = await json<{ status: string; weight: number }>(['release', 'promote', id, '--full']);
    assert.deepEqual([promoted.status, promoted.weight], ['promoted', 100]);
    const status = await tern(['release', 'status', id]);
    expectCode(status, 0);
    assert.match(status.stdout, /^Step +3 of 3: 100% \(promoted in full from step 1 at 10%; the steps between were skipped\)$/m);
    assert.match(status.stdout, /^Status +promoted$/m);

    const watch = await tern(['release', 'watch', id]);
    expectCode(watch, 0);
    const lines = watch.stdout.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      new RegExp(`^Release ${id} \\(full v2 replacing v1\\) had already ended at \\S+ \\S+: promoted, step 3/3, weight 100%$`),
    );
    assert.match(lines.at(-1)!, new RegExp(`^Promoted: full v2 is now the stable version \\(release ${id}\\); by token:bootstrap-admin`));
    // A verdict from before the end keeps its own time: nothing is stamped later than the end.
    const ended = Date.parse((await json<{ endedAt: string }>(['release', 'status', id])).endedAt);
    for (const line of lines.filter((l) => /^\d\d:\d\d:\d\dZ /.test(l))) {
      const at = Date.parse(`${new Date(ended).toISOString().slice(0, 11)}${line.slice(0, 8)}Z`);
      assert.ok(at <= ended + 1000, `"${line}" is stamped after the release ended`);
    }
  });

  it('on a terminal that reports 0 columns the watch prints plain lines, no live block', { skip: !hasScript() }, async () => {
    const id = await startRelease('narrow');
    const line = [process.execPath, BIN, 'release', 'watch', id, '--timeout', '3s'].map((a) => `'${a}'`).join(' ');
    const pty = (cols: number): string =>
      spawnSync('script', ['-qec', `stty cols ${cols} rows 0; ${line}`, '/dev/null'], {
        cwd: work,
        env: env(),
        encoding: 'utf8',
        timeout: 20_000,
      }).stdout;
    const narrow = pty(0);
    assert.match(narrow, new RegExp(`Watching release ${id}: narrow v2 replacing v1, progressing`));
    assert.match(narrow, /Timed out after 3s/);
    assert.equal(narrow.includes(`${ESC}[`), false, 'no cursor movement');
    assert.doesNotMatch(narrow, /Ctrl-C stops watching/, 'no live block');
    const wide = pty(120);
    assert.match(wide, new RegExp(`${ESC}\\[\\d+F`), 'a real terminal redraws the block in place');
    assert.match(wide, /Status +progressing · step 1\/3 · weight 10%/);
  });

  it('--output json on the commands that change things prints the JSON the API answered', async () => {
    const id = await startRelease('jsonout');
    for (const args of [
      ['release', 'pause', id],
      ['release', 'resume', id],
      ['release', 'weight', id, '20'],
      ['release', 'rollback', id],
    ]) {
      const r = await json<{ id: string; status: string }>(args);
      assert.equal(r.id, id, args.join(' '));
    }
    const rules = await json<{ rules: unknown[] }>([
      'service',
      'rules',
      'add',
      'jsonout',
      '--header',
      'x-tester',
      '--equals',
      '1',
      '--target',
      'canary',
    ]);
    assert.equal(rules.rules.length, 1);
    const updated = await json<{ stickiness: { header?: string } }>(['service', 'update', 'jsonout', '--sticky-header', 'x-user']);
    assert.equal(updated.stickiness.header, 'x-user');
    const token = await json<{ id: string; secret: string }>(['token', 'create', 'ci-json', '--role', 'viewer']);
    assert.match(token.secret, /^tern_/);
    assert.deepEqual(await json(['token', 'revoke', token.id]), { id: token.id, revoked: true });
    assert.deepEqual(await json(['service', 'delete', 'jsonout']), { name: 'jsonout', deleted: true });
  });

  it('an unknown command exits 2 even with --help; a real one prints its own help and exits 0', async () => {
    const agent = await tern(['agent', 'haproxy', '--help']);
    expectCode(agent, 0);
    assert.match(agent.stdout, /^Usage: tern agent haproxy \[options\]/);
    for (const args of [
      ['nosuch', '--help'],
      ['agent', 'nosuch', '--help'],
      ['release', 'nosuch', '-h'],
    ]) {
      const run = await tern(args);
      expectCode(run, 2);
      assert.equal(run.stdout, '', 'no help printed for the parent');
      assert.match(run.stderr, /^error: unknown command 'nosuch' for tern/);
    }
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}

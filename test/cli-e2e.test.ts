/**
 * End to end: the real built CLI (`node bin/tern`, run `npm run build` first) against a real
 * `tern server` child process on a free port, through real sockets. Checks what a user sees:
 * output, exit codes, the admin token file, RBAC refusals, and a clean SIGTERM shutdown.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, cleanEnv } from './support/processes.js';

const CLI_TIMEOUT_MS = 15_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('tern CLI against a real tern server', { timeout: 120_000 }, () => {
  let work: string;
  let dataDir: string;
  let server: ChildProcess | undefined;
  let serverStdout = '';
  let serverStderr = '';
  let apiUrl: string;
  let adminToken: string;
  let releaseId: string;
  let viewerSecret: string;
  let viewerId: string;
  const children = new Set<ChildProcess>();

  /** Runs `tern args...` with the admin token and server URL unless overridden; never rejects. */
  function tern(args: readonly string[], options: { env?: Record<string, string>; auth?: boolean; cwd?: string } = {}): Promise<Run> {
    const env = cleanEnv({
      ...(options.auth === false ? {} : { TERN_URL: apiUrl, TERN_TOKEN: adminToken }),
      ...options.env,
    });
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: options.cwd ?? work, env, timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' },
        (err, stdout, stderr) => {
          children.delete(child);
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      children.add(child);
    });
  }

  /** Asserts the exit code, showing both streams when it is wrong. */
  function expectCode(run: Run, code: number): void {
    assert.equal(run.code, code, `expected exit ${code}, got ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'dist/cli/main.js is missing: run `npm run build` first');
    work = await mkdtemp(path.join(tmpdir(), 'tern-cli-e2e-'));
    dataDir = path.join(work, '.tern');
    server = spawn(process.execPath, [BIN, 'server', '--data-dir', dataDir, '--api-port', '0', '--gateway-port', '0'], {
      cwd: work,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(server);
    server.stderr?.setEncoding('utf8').on('data', (chunk: string) => (serverStderr += chunk));
    apiUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not print its URL within 20s\nstdout: ${serverStdout}\nstderr: ${serverStderr}`)),
        20_000,
      );
      server?.once('exit', (code) =>
        reject(new Error(`server exited early with ${code}\nstdout: ${serverStdout}\nstderr: ${serverStderr}`)),
      );
      server?.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        serverStdout += chunk;
        const match = /^Tern API listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(serverStdout);
        if (match?.[1] && serverStdout.includes('Press Ctrl+C')) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    adminToken = (await readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('prints the URL and the generated admin token once, saved with mode 0600', async () => {
    assert.match(adminToken, /^tern_\S{20,}$/);
    assert.ok(serverStdout.includes(adminToken), 'the generated token is printed on first start');
    assert.ok(serverStdout.includes(path.join(dataDir, 'admin.token')), 'it says where the token was written');
    assert.equal((await stat(path.join(dataDir, 'admin.token'))).mode & 0o777, 0o600);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    assert.doesNotMatch(serverStdout, /"level"/, 'no JSON log lines among the human lines on stdout');
  });

  it('creates a service and lists it as a table and as JSON', async () => {
    const created = await tern([
      'service',
      'create',
      'checkout',
      '--path-prefix',
      '/checkout',
      '--sticky-header',
      'x-user-id',
      '--stable-version',
      'v1',
      '--endpoint',
      'http://127.0.0.1:9001',
    ]);
    expectCode(created, 0);
    assert.match(created.stdout, /Service checkout created/);

    // No --url/--token: the CLI falls back to the default URL, so pass only the URL and let the
    // token come from ./.tern/admin.token in the working directory.
    const table = await tern(['service', 'list', '--url', apiUrl], { auth: false });
    expectCode(table, 0);
    const [header, row] = table.stdout.trim().split('\n');
    assert.match(header ?? '', /^NAME\s+HOST\s+PATH PREFIX\s+STICKY\s+STABLE\s+ENDPOINTS/);
    assert.match(row ?? '', /^checkout\s+-\s+\/checkout\s+header x-user-id\s+v1\s+1\b/);

    const json = await tern(['service', 'list', '-o', 'json']);
    expectCode(json, 0);
    const { services } = JSON.parse(json.stdout) as { services: Array<{ name: string; stable: { version: string; endpoints: string[] } }> };
    assert.deepEqual(
      services.map((s) => [s.name, s.stable.version, s.stable.endpoints]),
      [['checkout', 'v1', ['http://127.0.0.1:9001']]],
    );
  });

  it('starts a release, shows its status, promotes and rolls it back', async () => {
    const started = await tern([
      'release',
      'start',
      'checkout',
      '--version',
      'v2',
      '--endpoint',
      'http://127.0.0.1:9002',
      '--steps',
      '5:30s,25:1m,100',
      '--metadata',
      'commit=9f8d111',
      '--reason',
      'e2e',
      '-o',
      'json',
    ]);
    expectCode(started, 0);
    const release = JSON.parse(started.stdout) as {
      id: string;
      version: string;
      weight: number;
      steps: Array<{ weight: number }>;
      metadata: Record<string, string>;
    };
    releaseId = release.id;
    assert.equal(release.version, 'v2');
    assert.deepEqual(
      release.steps.map((s) => s.weight),
      [5, 25, 100],
    );
    assert.deepEqual(release.metadata, { commit: '9f8d111' });

    const status = await tern(['release', 'status', releaseId]);
    expectCode(status, 0);
    assert.match(status.stdout, new RegExp(`^Release\\s+${releaseId}$`, 'm'));
    assert.match(status.stdout, /^Version\s+v2 \(replacing v1\)$/m);
    assert.match(status.stdout, /^Metadata\s+commit=9f8d111$/m);
    assert.match(status.stdout, /^Plan$/m);

    const promoted = await tern(['release', 'promote', releaseId, '--reason', 'looks good', '-o', 'json']);
    expectCode(promoted, 0);
    const afterPromote = JSON.parse(promoted.stdout) as { stepIndex: number; weight: number };
    assert.equal(afterPromote.stepIndex, 1);
    assert.equal(afterPromote.weight, 25);

    const rolledBack = await tern(['release', 'rollback', releaseId, '--reason', 'error budget']);
    expectCode(rolledBack, 0);
    assert.match(rolledBack.stdout, new RegExp(`^Release ${releaseId} \\(checkout v2\\): rolled_back; every user is back on v1\\.$`, 'm'));

    const listed = await tern(['release', 'list', 'checkout']);
    expectCode(listed, 0);
    assert.match(listed.stdout, new RegExp(`^${releaseId}\\s+v2\\s+rolled_back\\s+0%`, 'm'));
  });

  it('shows the actions in the audit log with the acting token', async () => {
    const run = await tern(['audit', '--service', 'checkout', '-o', 'json']);
    expectCode(run, 0);
    const { events } = JSON.parse(run.stdout) as { events: Array<{ actor: string; action: string; outcome: string }> };
    const actions = events.map((e) => e.action);
    for (const action of ['service.create', 'release.start', 'release.promote', 'release.rollback']) {
      assert.ok(actions.includes(action), `audit has ${action}: ${actions.join(', ')}`);
    }
    // What people did carries their token; the controller's own notes (the built-in gateway
    // confirming a step's weight: release.waiting / release.applied) are by `system`.
    const people = events.filter((e) => e.actor !== 'system');
    assert.ok(
      people.every((e) => e.actor.startsWith('token:')),
      events.map((e) => `${e.actor} ${e.action}`).join(', '),
    );
    assert.deepEqual(
      events.filter((e) => e.actor === 'system' && !['release.applied', 'release.waiting'].includes(e.action)),
      [],
      'the controller moved nothing by itself in this test',
    );

    const table = await tern(['audit', '--action', 'release.rollback']);
    expectCode(table, 0);
    assert.match(table.stdout, /^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+REASON$/m);
    assert.match(table.stdout, /token:\S+\s+release\.rollback\s+\S+\s+success\s+error budget$/m);
  });

  it('creates a viewer token, shown once with a warning, that may read but not roll back', async () => {
    const created = await tern(['token', 'create', 'viewer-bot', '--role', 'viewer']);
    expectCode(created, 0);
    viewerSecret = /^Secret\s+(tern_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    viewerId = /^Id\s+(\S+)$/m.exec(created.stdout)?.[1] ?? '';
    assert.ok(viewerSecret && viewerId, created.stdout);
    assert.match(created.stderr, /will not be shown again/);

    const list = await tern(['token', 'list']);
    expectCode(list, 0);
    assert.match(list.stdout, new RegExp(`^${viewerId}\\s+viewer-bot\\s+viewer\\s`, 'm'));
    assert.ok(!list.stdout.includes(viewerSecret), 'token list never shows secrets');

    const read = await tern(['release', 'status', releaseId], { env: { TERN_TOKEN: viewerSecret } });
    expectCode(read, 0);

    // An active release, so a missing role check would show as a successful rollback.
    const started = await tern(['release', 'start', 'checkout', '--version', 'v3', '--endpoint', 'http://127.0.0.1:9003', '-o', 'json']);
    expectCode(started, 0);
    const active = (JSON.parse(started.stdout) as { id: string }).id;
    const denied = await tern(['release', 'rollback', active], { env: { TERN_TOKEN: viewerSecret } });
    expectCode(denied, 4);
    assert.match(denied.stderr, /^error: TERN_FORBIDDEN: .*viewer.*\(HTTP 403\)$/m);
    assert.equal(denied.stdout, '');
    assert.doesNotMatch(denied.stderr, /\n\s+at /, 'no stack trace');

    const promoted = await tern(['release', 'promote', active, '--full']);
    expectCode(promoted, 0);
    assert.match(promoted.stdout, /: promoted; v3 is now the stable version\.$/m);
    const service = await tern(['service', 'get', 'checkout']);
    assert.match(service.stdout, /^Stable\s+v3$/m);
  });

  it('refuses a revoked token with 401', async () => {
    expectCode(await tern(['token', 'revoke', viewerId]), 0);
    const run = await tern(['service', 'list'], { env: { TERN_TOKEN: viewerSecret } });
    expectCode(run, 4);
    assert.match(run.stderr, /TERN_UNAUTHENTICATED.*\(HTTP 401\)/);
  });

  it('answers an unknown release with exit 4 and TERN_RELEASE_NOT_FOUND', async () => {
    const run = await tern(['release', 'status', 'rel_does_not_exist']);
    expectCode(run, 4);
    assert.match(run.stderr, /^error: TERN_RELEASE_NOT_FOUND: .*\(HTTP 404\)$/m);
  });

  it('exits 3 naming the URL when nothing listens there', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const run = await tern(['service', 'list', '--url', url]);
    expectCode(run, 3);
    assert.match(run.stderr, new RegExp(`cannot reach the Tern API at ${url.replace(/\./g, '\\.')}: connection refused`));
  });

  it('exits 2 on usage errors', async () => {
    expectCode(await tern(['release', 'weight', releaseId]), 2);
    expectCode(await tern(['service', 'list', '-o', 'yaml']), 2);
    expectCode(await tern(['no-such-command']), 2);
  });

  it('shuts down on SIGTERM with exit 0', async () => {
    assert.ok(server);
    const exited = new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not exit within 5s of SIGTERM\nstderr: ${serverStderr}`)), 5_000);
      server?.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(serverStdout, /Tern stopped\./);
  });
});

/** A port nothing listens on: bind an ephemeral port, then release it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

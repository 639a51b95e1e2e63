/**
 * The installable package, end to end. The repository's sources are copied to a scratch
 * directory and packed there with the real `npm pack` (so the working tree's dist/, which other
 * tests run, is left alone): `prepack` builds dist/ (server, CLI, dashboard) from clean. The tarball is then installed into a scratch prefix by the
 * GitHub Actions example's own install step (docs/examples/github-actions.yml, `install-tern`):
 * production dependencies from the npm registry, better-sqlite3 compiled by node-gyp (no
 * prebuilt download is reachable here). The installed `tern` runs a server, creates a service
 * and starts and promotes a release against two tiny node:http version apps, and the server
 * serves the dashboard from the installed package.
 *
 * Slow: a full build plus a native compile, about 4.5 minutes on a loaded 2-core machine (pack
 * 51 s, install 203 s, run 8 s; it prints its own split). It is one test under one timeout;
 * the quick checks around it run first.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT, cleanEnv, killAll, startNode, startVersionApp } from './support/processes.js';

/** What `npm pack` needs from the repository (the Containerfile's build stage copies the same). */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'bin', 'src', 'web', 'docs'];
const PACK_AND_INSTALL_LIMIT_MS = 20 * 60_000;

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without the caller's TERN_* and npm_* settings (an `npm test` parent sets many). */
function hermeticEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(cleanEnv()).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return { ...env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, ...extra };
}

/** Runs `file args` to its end (or kills it after `timeoutMs`), collecting its output. */
function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env ?? hermeticEnv(), timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a CI step's shell script with bash -eo pipefail, as the runners do. */
function runStep(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function githubInstallStep(): Promise<string> {
  const workflow = parse(await readFile(path.join(ROOT, 'docs', 'examples', 'github-actions.yml'), 'utf8')) as {
    jobs: { canary: { steps: Array<{ id?: string; run?: string }> } };
  };
  const step = workflow.jobs.canary.steps.find((s) => s.id === 'install-tern');
  assert.ok(step?.run, 'the GitHub example has an install-tern step with a run: script');
  return step.run;
}

describe('the packed tern package', () => {
  const scratchDirs: string[] = [];
  async function scratch(prefix: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    scratchDirs.push(dir);
    return dir;
  }

  after(async () => {
    await killAll();
    await Promise.all(scratchDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('bin/tern before a build says to run npm run build (exit 1), not a module-not-found stack', async () => {
    const copy = await scratch('tern-unbuilt-');
    await cp(path.join(ROOT, 'bin'), path.join(copy, 'bin'), { recursive: true });
    const ran = await run(process.execPath, [path.join(copy, 'bin', 'tern'), 'service', 'list']);
    assert.equal(ran.code, 1, ran.stderr);
    assert.match(ran.stderr, /^tern: the CLI is not built \(dist\/cli\/main\.js is missing\): run `npm run build`/);
    assert.doesNotMatch(ran.stderr, /ERR_MODULE_NOT_FOUND|at /);
  });

  it('the GitLab example installs the package with the same command as the GitHub example', async () => {
    const pipeline = parse(await readFile(path.join(ROOT, 'docs', 'examples', 'gitlab-ci.yml'), 'utf8')) as {
      canary: { before_script: string[] };
    };
    assert.deepEqual(pipeline.canary.before_script, [(await githubInstallStep()).trim()]);
  });

  it(
    'npm pack, then the example install step into a fresh prefix, gives a tern that runs a server, a release and the dashboard',
    { timeout: PACK_AND_INSTALL_LIMIT_MS },
    async () => {
      const began = Date.now();
      const work = await scratch('tern-package-');
      const source = path.join(work, 'source');
      const packed = path.join(work, 'packed');
      await mkdir(packed);
      for (const entry of SOURCES) await cp(path.join(ROOT, entry), path.join(source, entry), { recursive: true });
      // The build tools (dev dependencies) of the working tree; the installed package gets none of them.
      await symlink(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'), 'dir');

      const pack = await run('npm', ['pack', '--pack-destination', packed], { cwd: source, timeoutMs: 10 * 60_000 });
      assert.equal(pack.code, 0, `npm pack failed:\n${pack.stdout}\n${pack.stderr}`);
      const tarballs = (await readdir(packed)).filter((f) => /^tern-.*\.tgz$/.test(f));
      assert.deepEqual(tarballs, ['tern-0.1.0.tgz']);
      const tarball = path.join(packed, tarballs[0]!);
      const listing = (await run('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean);
      for (const file of ['bin/tern', 'dist/cli/main.js', 'dist/main.js', 'dist/web/index.html', 'package.json', 'README.md']) {
        assert.ok(listing.includes(`package/${file}`), `the tarball has ${file}`);
      }
      assert.ok(
        listing.some((f) => /^package\/dist\/web\/assets\/.+\.js$/.test(f)),
        'the tarball has the built dashboard scripts',
      );
      const stray = listing.filter((f) => /^package\/(src|web|test|node_modules|bench|scripts)\/|\.test\.js$|\.ts$/.test(f));
      assert.deepEqual(stray, [], 'no sources, tests or node_modules in the tarball');
      const packedAt = Date.now();

      const prefix = path.join(work, 'prefix');
      const install = await runStep(
        await githubInstallStep(),
        work,
        hermeticEnv({ TERN_PACKAGE: tarball, npm_config_prefix: prefix }),
        PACK_AND_INSTALL_LIMIT_MS - (packedAt - began) - 60_000,
      );
      assert.equal(install.code, 0, `the install step failed:\n${install.stdout}\n${install.stderr}`);
      assert.doesNotMatch(install.stderr, /EBADENGINE|Unsupported engine/, 'a Node 20 install is clean');
      const installedAt = Date.now();

      const tern = path.join(prefix, 'bin', 'tern');
      const installed = path.join(prefix, 'lib', 'node_modules', 'tern');
      assert.ok(existsSync(tern), 'the install puts tern in <prefix>/bin');
      for (const dev of ['typescript', 'vite', 'tsx', 'eslint', 'react']) {
        assert.ok(!existsSync(path.join(installed, 'node_modules', dev)), `no dev dependency ${dev} is installed`);
      }
      assert.ok(
        existsSync(path.join(installed, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')),
        'better-sqlite3 was built',
      );
      const fromLightMyRequest = createRequire(path.join(installed, 'node_modules', 'light-my-request', 'index.js'));
      const cookie = JSON.parse(await readFile(fromLightMyRequest.resolve('cookie/package.json'), 'utf8')) as { version: string };
      assert.match(
        cookie.version,
        /^1\./,
        'fastify gets the pinned light-my-request, whose cookie@1 runs on Node 20 (cookie@2 wants Node 22)',
      );

      const data = path.join(work, 'data');
      const server = startNode([tern, 'server', '--data-dir', data, '--api-port', '0', '--gateway-port', '0', '--log-level', 'warn']);
      const [, apiUrl] = await server.waitFor(/Tern API listening on (\S+)/, 60_000);
      const [, gatewayUrl] = await server.waitFor(/Tern gateway listening on (\S+)/);
      const [v1, v2] = await Promise.all([startVersionApp('v1'), startVersionApp('v2')]);
      const adminToken = (await readFile(path.join(data, 'admin.token'), 'utf8')).trim();
      const cliEnv = hermeticEnv({ TERN_URL: apiUrl!, TERN_TOKEN: adminToken });
      const cli = async (...args: string[]): Promise<string> => {
        // The installed command itself, through its shebang, as a shell would run it.
        const ran = await run(tern, args, { cwd: work, env: cliEnv });
        assert.equal(ran.code, 0, `tern ${args.join(' ')}: exit ${ran.code}\n${ran.stdout}\n${ran.stderr}`);
        return ran.stdout;
      };

      const created = await cli(
        'service',
        'create',
        'shop',
        '--path-prefix',
        '/shop',
        '--sticky-header',
        'x-user-id',
        '--stable-version',
        'v1',
        '--endpoint',
        v1.url,
      );
      assert.match(created, /^Service shop created \(stable v1, 1 endpoint\)\./);
      const started = JSON.parse(
        await cli('release', 'start', 'shop', '--version', 'v2', '--endpoint', v2.url, '--steps', '50:1h,100', '-o', 'json'),
      ) as {
        id: string;
        status: string;
      };
      assert.match(started.id, /^rel_/);
      await cli('release', 'promote', started.id, '--full', '--reason', 'package test');
      const service = JSON.parse(await cli('service', 'get', 'shop', '-o', 'json')) as { stable: { version: string } };
      assert.equal(service.stable.version, 'v2', 'the promoted version is stable');

      // The built-in gateway follows the table: user traffic reaches v2.
      let answer = '';
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && answer !== 'v2\n';) {
        const res = await fetch(`${gatewayUrl}/shop/`, { headers: { 'x-user-id': 'u1' } });
        answer = await res.text();
        if (answer !== 'v2\n') await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(answer, 'v2\n', 'the gateway sends users to the promoted version');

      // The dashboard, found inside the installed package.
      const page = await fetch(`${apiUrl}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      const html = await page.text();
      assert.match(html, /<title>Tern<\/title>/);
      const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, `the built index.html loads a bundled script:\n${html}`);
      const asset = await fetch(`${apiUrl}${script}`);
      assert.equal(asset.status, 200, `${script} is served`);
      await asset.arrayBuffer();

      assert.equal(await server.kill('SIGTERM'), 0, 'the installed server stops cleanly');
      const seconds = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;
      process.stdout.write(
        `# package test: pack ${seconds(packedAt - began)}, install ${seconds(installedAt - packedAt)}, run ${seconds(Date.now() - installedAt)}\n`,
      );
    },
  );
});

/**
 * The CI/CD examples in docs/examples/ are run, not just shown: their shell steps (GitHub
 * Actions `run:`, GitLab CI `script:`) are taken from the parsed YAML and run with bash, with
 * a `tern` shim on PATH, against a real `tern server` child process. Only the step that
 * installs the packed CLI is left out (the shim stands in for it; test/package-install.test.ts
 * runs that step on a freshly packed tarball). Two outcomes per
 * example: a release promoted while the job waits passes the job (exit 0); a release the
 * controller rolls back on bad metrics (pushed as a gateway would) fails the job with the
 * documented exit code 10. Needs `npm run build` first (bin/tern runs dist/).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { bucketOf } from '../src/core/latency-histogram.js';
import { BIN, ROOT, cleanEnv, killAll, startTernServer, startVersionApp, type TernServer } from './support/processes.js';

const EXAMPLES = path.join(ROOT, 'docs', 'examples');
/** A job that has not ended by then is killed (with everything it started) and fails the test. */
const JOB_LIMIT_MS = 60_000;
const SERVICE = 'checkout';

interface JobRun {
  readonly code: number | null;
  readonly output: string;
}

/** A job running in the background: its output so far and its end. */
interface RunningJob {
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  readonly done: Promise<JobRun>;
}

/** What a pipeline example comes down to once parsed: shell scripts to run in order, and their environment. */
interface Job {
  /** Scripts run in order, each by its own bash; the first that fails ends the job with its code. */
  readonly scripts: readonly string[];
  readonly env: Record<string, string>;
  /** What the job's steps reported besides their output (GitHub's step outputs); null where there is no such thing. */
  readonly outputs: () => Promise<string | null>;
}

/** Inputs a CI system would provide: secrets, variables, the commit. */
interface CiInputs {
  readonly ternUrl: string;
  readonly ternToken: string;
  readonly canaryEndpoint: string;
  readonly sha: string;
  readonly scratch: string;
}

/** The job `name` of a parsed pipeline file. */
function onlyJob(jobs: Record<string, unknown>, name: string): Record<string, unknown> {
  const job = jobs[name];
  assert.ok(job && typeof job === 'object', `the example has a job "${name}"`);
  return job as Record<string, unknown>;
}

/**
 * GitHub's `${{ context.key }}` expressions, for the contexts the example uses; anything else
 * fails the test, so an expression nobody provides here cannot slip in unnoticed.
 */
function githubExpressions(text: string, contexts: Record<string, Record<string, string>>): string {
  return text.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_all, expression: string) => {
    const [context, key, extra] = expression.split('.');
    const value = context === undefined || key === undefined || extra !== undefined ? undefined : contexts[context]?.[key];
    if (value === undefined) throw new Error(`the test does not provide \${{ ${expression} }}`);
    return value;
  });
}

async function githubJob(inputs: CiInputs): Promise<Job> {
  const workflow = parse(await readFile(path.join(EXAMPLES, 'github-actions.yml'), 'utf8')) as { jobs: Record<string, unknown> };
  assert.deepEqual(Object.keys(workflow.jobs), ['canary'], 'one job');
  const job = onlyJob(workflow.jobs, 'canary') as { env: Record<string, string>; steps: Array<{ id?: string; run?: string }> };
  const runId = '4242';
  const contexts = {
    secrets: { TERN_URL: inputs.ternUrl, TERN_TOKEN: inputs.ternToken },
    vars: { CANARY_ENDPOINT: inputs.canaryEndpoint, TERN_PACKAGE: '@acme/tern@0.1.0' },
    github: { sha: inputs.sha },
  };
  const install = job.steps.find((s) => s.id === 'install-tern');
  assert.ok(
    install?.run?.includes('npm install --global') && install.run.includes('"$TERN_PACKAGE"'),
    'the install step installs the Tern package globally (which puts tern on PATH)',
  );
  const scripts = job.steps.filter((s) => s.run !== undefined && s !== install).map((s) => githubExpressions(s.run ?? '', contexts));
  assert.ok(
    scripts.some((s) => s.includes('--wait')),
    'a step waits for the release',
  );
  const outputFile = path.join(inputs.scratch, 'github-output');
  await writeFile(outputFile, '');
  const env = Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, githubExpressions(String(v), contexts)]));
  return {
    scripts,
    env: {
      ...env,
      GITHUB_SHA: inputs.sha,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/checkout',
      GITHUB_RUN_ID: runId,
      GITHUB_OUTPUT: outputFile,
      GITHUB_PATH: path.join(inputs.scratch, 'github-path'),
    },
    outputs: () => readFile(outputFile, 'utf8'),
  };
}

async function gitlabJob(inputs: CiInputs): Promise<Job> {
  const pipeline = parse(await readFile(path.join(EXAMPLES, 'gitlab-ci.yml'), 'utf8')) as Record<string, unknown>;
  const job = onlyJob(pipeline, 'canary') as { variables: Record<string, string>; before_script: string[]; script: string[] };
  assert.ok(
    job.before_script.some((s) => s.includes('npm install --global') && s.includes('"$TERN_PACKAGE"')),
    'before_script installs the Tern package globally',
  );
  assert.ok(
    job.script.some((s) => s.includes('--wait')),
    'the script waits for the release',
  );
  return {
    // GitLab runs a job's script lines in one shell that stops at the first failing command.
    scripts: [job.script.join('\n')],
    env: {
      ...job.variables,
      TERN_URL: inputs.ternUrl,
      TERN_TOKEN: inputs.ternToken,
      CANARY_ENDPOINT: inputs.canaryEndpoint,
      TERN_PACKAGE: '@acme/tern@0.1.0',
      CI_COMMIT_SHA: inputs.sha,
      CI_PIPELINE_ID: '77',
      CI_PIPELINE_URL: 'https://gitlab.example.com/acme/checkout/-/pipelines/77',
    },
    outputs: () => Promise.resolve(null),
  };
}

const EXAMPLE_JOBS = [
  { name: 'GitHub Actions (docs/examples/github-actions.yml)', load: githubJob },
  { name: 'GitLab CI (docs/examples/gitlab-ci.yml)', load: gitlabJob },
] as const;

describe('the pipeline examples against a real tern server', { timeout: 300_000 }, () => {
  let work: string;
  let server: TernServer;
  let shimDir: string;
  let canaryUrl: string;
  let deployerToken: string;
  let gatewayToken: string;
  /** Process groups of jobs still running, killed if a test gives up on them. */
  const jobGroups = new Set<number>();

  async function api(method: string, url: string, token: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${server.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${url}: HTTP ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : null;
  }

  /** Runs the job's scripts in order, each with bash -e as CI runners do, in a process group of its own. */
  function runJob(job: Job, cwd: string): RunningJob {
    let output = '';
    const listeners = new Set<() => void>();
    const env = { ...cleanEnv(), ...job.env, PATH: `${shimDir}${path.delimiter}${process.env.PATH ?? ''}` };
    const runScript = (script: string): Promise<number | null> =>
      new Promise((resolve) => {
        const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
          cwd,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          for (const l of listeners) l();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        const group = child.pid;
        if (group !== undefined) jobGroups.add(group);
        const killer = setTimeout(() => killGroup(group), JOB_LIMIT_MS);
        child.once('close', (code) => {
          clearTimeout(killer);
          if (group !== undefined) jobGroups.delete(group);
          resolve(code);
        });
      });
    const done = (async (): Promise<JobRun> => {
      for (const script of job.scripts) {
        const code = await runScript(script);
        if (code !== 0) return { code, output };
      }
      return { code: 0, output };
    })();
    const waitFor = (pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output);
          if (!match) return;
          cleanup();
          resolve(match);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${ms} ms; output so far:\n${output}`));
        }, ms);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void done.then(() => {
          if (!listeners.has(check)) return;
          cleanup();
          reject(new Error(`the job ended before ${pattern}; output:\n${output}`));
        });
        check();
      });
    return { waitFor, done };
  }

  /** Pushes what a gateway would see at 5%: the canary fails 10% of its requests, stable 0.5%. */
  async function pushBadWindow(releaseId: string, version: string, stableVersion: string): Promise<void> {
    const windowStart = Math.floor(Date.now() / 1000) * 1000;
    const latency = String(bucketOf(20));
    const w = (v: string, requests: number, errors: number) => ({
      releaseId,
      version: v,
      windowStart,
      windowMs: 1000,
      requests,
      errors,
      latency: { [latency]: requests },
    });
    await api('POST', '/api/v1/dataplane/metrics', gatewayToken, {
      gateway: 'pipeline-test',
      windows: [w(version, 100, 10), w(stableVersion, 1900, 10)],
    });
  }

  async function inputsFor(name: string): Promise<CiInputs> {
    const scratch = await mkdtemp(path.join(work, `${name}-`));
    return { ternUrl: server.apiUrl, ternToken: deployerToken, canaryEndpoint: canaryUrl, sha: randomBytes(20).toString('hex'), scratch };
  }

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'dist/cli/main.js is missing: run `npm run build` first');
    work = await mkdtemp(path.join(tmpdir(), 'tern-pipeline-'));
    shimDir = path.join(work, 'bin');
    await mkdir(shimDir);
    // What the examples' install step provides: `tern` on PATH.
    await writeFile(path.join(shimDir, 'tern'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    await chmod(path.join(shimDir, 'tern'), 0o755);
    const [started, stable, canary] = await Promise.all([
      startTernServer(path.join(work, 'data')),
      startVersionApp('stable'),
      startVersionApp('canary'),
    ]);
    server = started;
    canaryUrl = canary.url;
    await api('POST', '/api/v1/services', server.adminToken, {
      name: SERVICE,
      match: { pathPrefix: `/${SERVICE}` },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [stable.url] },
    });
    // The examples ask for a deployer token (and a deployer token is all they get here).
    deployerToken = ((await api('POST', '/api/v1/tokens', server.adminToken, { name: 'ci', role: 'deployer' })) as { secret: string })
      .secret;
    gatewayToken = (
      (await api('POST', '/api/v1/tokens', server.adminToken, { name: 'sim-gateway', role: 'gateway' })) as { secret: string }
    ).secret;
  });

  function killGroup(group: number | undefined): void {
    if (group === undefined) return;
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  after(async () => {
    for (const group of jobGroups) killGroup(group);
    await killAll();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const example of EXAMPLE_JOBS) {
    it(`${example.name}: a release promoted while the job waits passes the job (exit 0)`, async () => {
      const inputs = await inputsFor('promoted');
      const job = await example.load(inputs);
      const running = runJob(job, inputs.scratch);
      const [, id] = await running.waitFor(new RegExp(`^Started release (rel_\\w+): ${SERVICE} ${inputs.sha} replacing `, 'm'));
      assert.ok(id);
      // A person (or healthy traffic, more slowly) promotes it while the pipeline waits.
      await api('POST', `/api/v1/releases/${id}/promote`, server.adminToken, { full: true, reason: 'checked by hand' });
      const run = await running.done;
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, new RegExp(`^Promoted: ${SERVICE} ${inputs.sha} is now the stable version`, 'm'));
      assert.match(run.output, new RegExp(`^Promoted: ${SERVICE} ${inputs.sha} is the stable version now\\.$`, 'm'));
      const release = (await api('GET', `/api/v1/releases/${id}`, server.adminToken)) as {
        status: string;
        metadata: Record<string, string>;
      };
      assert.equal(release.status, 'promoted');
      assert.equal(release.metadata.commit, inputs.sha, 'the commit is recorded on the release');
      assert.match(release.metadata.pipeline ?? '', /^https:\/\//, 'so is the pipeline URL');
      const outputs = await job.outputs();
      if (outputs !== null) assert.match(outputs, /^exit-code=0$/m);
    });

    it(`${example.name}: a release the judge rolls back fails the job with exit 10`, async () => {
      const inputs = await inputsFor('rolled-back');
      const stableVersion = ((await api('GET', `/api/v1/services/${SERVICE}`, server.adminToken)) as { stable: { version: string } }).stable
        .version;
      const job = await example.load(inputs);
      const running = runJob(job, inputs.scratch);
      const [, id] = await running.waitFor(new RegExp(`^Started release (rel_\\w+): ${SERVICE} ${inputs.sha} replacing `, 'm'));
      assert.ok(id);
      let finished = false;
      void running.done.then(() => (finished = true));
      const began = Date.now();
      while (!finished && Date.now() - began < 30_000) {
        await pushBadWindow(id, inputs.sha, stableVersion);
        await Promise.race([new Promise((r) => setTimeout(r, 1000)), running.done]);
      }
      const run = await running.done;
      assert.equal(run.code, 10, run.output);
      assert.match(run.output, /verdict fail \(sequential judge, step 1\): error-rate /);
      assert.match(
        run.output,
        new RegExp(
          `^Rolled back: ${SERVICE} ${inputs.sha} \\(release ${id}\\); every user is back on ${stableVersion}; by system, reason: sequential judge failed`,
          'm',
        ),
      );
      assert.match(run.output, new RegExp(`Tern rolled back ${SERVICE} ${inputs.sha}`));
      const release = (await api('GET', `/api/v1/releases/${id}`, server.adminToken)) as { status: string };
      assert.equal(release.status, 'rolled_back');
      const outputs = await job.outputs();
      if (outputs !== null) assert.match(outputs, /^exit-code=10$/m);
    });
  }
});

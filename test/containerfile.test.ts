/**
 * deploy/Containerfile, checked without a container engine (none is available where Tern is
 * developed, so the image is not built here): linted by dockerfile-utils (the validator behind
 * the VS Code Dockerfile support; hadolint is not installable from the registries reachable
 * here), then parsed to assert what it promises: a multi-stage build whose final stage installs
 * nothing itself, production dependencies only, an unprivileged user, a /healthz health check,
 * the two ports, and a volume that is the server's data dir.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { validate } from 'dockerfile-utils';
import { ROOT } from './support/processes.js';

const FILE = path.join(ROOT, 'deploy', 'Containerfile');

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** Instructions in order (continuation lines joined, comments dropped), grouped by FROM into stages. */
function parseStages(text: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const [keyword = '', ...rest] = whole.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: startLine });
  });
  const args: Instruction[] = [];
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name = ''] = instruction.args.split(/\s+/);
      assert.equal(as?.toUpperCase(), 'AS', `line ${instruction.line}: every stage is named (FROM image AS name)`);
      stages.push({ name, from, instructions: [] });
    } else if (stages.length === 0) {
      args.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { args, stages };
}

describe('deploy/Containerfile', () => {
  let text: string;
  let stages: Stage[];
  let globalArgs: Instruction[];
  let final: Stage;
  const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

  before(async () => {
    text = await readFile(FILE, 'utf8');
    ({ stages, args: globalArgs } = parseStages(text));
    final = stages.at(-1)!;
  });

  it('passes the Dockerfile linter with no problem reported', () => {
    const problems = validate(text).map(
      (d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
    );
    assert.deepEqual(problems, []);
    // The linter does find problems (so the empty list above means something).
    assert.ok(validate('FROM node:20\nEXPOSE http\nHEALTHCHECK CMD\n').length >= 2);
  });

  it('is multi-stage: build (dev dependencies, npm pack), install (production only), a slim runtime', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['build', 'install', 'runtime'],
    );
    const build = stages[0]!;
    assert.ok(
      all(build, 'RUN').some((r) => r.args.includes('npm ci')),
      'the build stage installs the dev dependencies',
    );
    assert.ok(
      all(build, 'RUN').some((r) => r.args.includes('npm pack')),
      'the build stage packs Tern as a release does (prepack builds dist/)',
    );
    for (const copy of all(build, 'COPY')) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) assert.ok(existsSync(path.join(ROOT, source)), `COPY ${source}: exists in the repository`);
    }
    const install = stages[1]!;
    assert.ok(
      all(install, 'RUN').some((r) => /npm install --global .*--omit=dev/.test(r.args)),
      'the install stage installs the tarball without dev dependencies',
    );
    assert.deepEqual(
      final.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\b/.test(i.args)),
      [],
      'the runtime stage installs nothing with npm',
    );
    assert.ok(
      all(final, 'COPY').some((c) => c.args.startsWith('--from=install ')),
      'the runtime stage copies the installed package',
    );
    const runtimeImage = globalArgs.find((a) => a.args.startsWith('NODE_RUNTIME_IMAGE='))?.args;
    assert.match(runtimeImage ?? '', /=node:20-[a-z]+-slim$/, 'the runtime is the slim Node 20 image');
    assert.equal(final.from, '${NODE_RUNTIME_IMAGE}');
  });

  it('runs as an unprivileged user, with a /healthz health check, the two ports and the data volume', () => {
    const users = all(final, 'USER');
    assert.equal(users.length, 1);
    assert.doesNotMatch(users[0]!.args, /^(root|0)(:|$)/, 'not root');
    const health = all(final, 'HEALTHCHECK');
    assert.equal(health.length, 1);
    assert.match(health[0]!.args, /CMD .*http:\/\/127\.0\.0\.1:7070\/healthz/);
    assert.deepEqual(all(final, 'EXPOSE')[0]?.args.split(/\s+/), ['7070', '8080']);
    assert.match(all(final, 'VOLUME')[0]?.args ?? '', /"\/var\/lib\/tern"/);
    const cmd = JSON.parse(all(final, 'CMD')[0]?.args ?? 'null') as string[];
    const entrypoint = JSON.parse(all(final, 'ENTRYPOINT')[0]?.args ?? 'null') as string[];
    assert.deepEqual(entrypoint, ['tern']);
    assert.deepEqual(cmd, ['server', '--data-dir', '/var/lib/tern', '--host', '0.0.0.0', '--api-port', '7070', '--gateway-port', '8080']);
    // The user switch comes before the volume, so the volume's first contents belong to that user.
    assert.ok(users[0]!.line < all(final, 'VOLUME')[0]!.line);
  });

  it('uses only flags that `tern server` has', async () => {
    const server = await readFile(path.join(ROOT, 'src', 'cli', 'commands', 'server.ts'), 'utf8');
    const cmd = JSON.parse(all(final, 'CMD')[0]?.args ?? '[]') as string[];
    for (const flag of cmd.filter((a) => a.startsWith('--'))) assert.ok(server.includes(`'${flag} <`), `tern server has ${flag}`);
  });
});

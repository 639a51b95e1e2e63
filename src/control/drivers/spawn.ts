/**
 * Starting one instance of a version for the process driver: the command line split into argv
 * (quotes respected, no shell, so a version label can never inject a command), `{port}` and
 * `{version}` filled in, env `PORT` and `TERN_VERSION` set (Tern's own `TERN_*` settings, which
 * hold secrets, are not passed on), its own process group (so retiring it stops its children
 * too), stdout and stderr appended to its log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import type { DeployedInstance, ProcessDeploy } from '../../core/types.js';

/** Splits a command line into words: whitespace separates, '…' and "…" group, \ escapes in "…" and bare words. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]!;
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= '';
    } else {
      word = (word ?? '') + (ch === '\\' && i + 1 < line.length ? line[++i]! : ch);
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} in command: ${line}`);
  if (word !== null) words.push(word);
  return words;
}

/** Fills `{port}` and `{version}`. */
export function expand(text: string, vars: { readonly port: number; readonly version: string }): string {
  return text.replaceAll('{port}', String(vars.port)).replaceAll('{version}', vars.version);
}

/** The environment an instance gets: Tern's minus its TERN_* settings, plus the spec's, PORT and TERN_VERSION. */
function instanceEnv(spec: ProcessDeploy, port: number, version: string): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TERN_')));
  const own = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, expand(v, { port, version })]));
  return { ...inherited, ...own, PORT: String(port), TERN_VERSION: version };
}

/** The env marker that tells a process Tern started for `release`/`index` apart from a later one reusing its pid. */
export function instanceMarker(releaseId: string, index: number): string {
  return `TERN_INSTANCE=${releaseId}/${index}`;
}

export interface SpawnRequest {
  readonly releaseId: string;
  readonly spec: ProcessDeploy;
  readonly service: string;
  readonly version: string;
  readonly index: number;
  readonly port: number;
  readonly logDir: string;
  readonly now: number;
}

/** `<logDir>/<service>/<version>-<index>.log` */
export function logFileOf(logDir: string, service: string, version: string, index: number): string {
  return path.join(logDir, service, `${version}-${index}.log`);
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly instance: DeployedInstance;
  /** Settles with a description ("exited with code 1") when the process exits. */
  readonly exited: Promise<string>;
}

/**
 * Starts one instance, detached in its own process group; resolves once it has a pid.
 * @throws the spawn error (e.g. ENOENT for an unknown program).
 */
export async function spawnInstance(req: SpawnRequest): Promise<Spawned> {
  const [program, ...args] = splitCommand(req.spec.command).map((w) => expand(w, req));
  if (!program) throw new Error('the deploy command is empty');
  const logFile = logFileOf(req.logDir, req.service, req.version, req.index);
  mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(program, args, {
      cwd: req.spec.cwd ?? process.cwd(),
      env: { ...instanceEnv(req.spec, req.port, req.version), TERN_INSTANCE: instanceMarker(req.releaseId, req.index).split('=')[1] },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(`exited with ${signal ? `signal ${signal}` : `code ${code}`}`));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    const pid = child.pid!;
    const instance = { index: req.index, pid, port: req.port, endpoint: `http://127.0.0.1:${req.port}`, logFile, startedAt: req.now };
    return { child, instance, exited };
  } finally {
    closeSync(fd);
  }
}

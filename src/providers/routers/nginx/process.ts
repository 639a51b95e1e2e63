/**
 * The NGINX master process the agent drives: test a config (`nginx -t`), start it (a daemon, so
 * it outlives the agent: fail static), adopt one already running from the pid file, reload it
 * gracefully (SIGHUP: new workers take new connections, old ones finish their requests), and
 * probe the control server for the configuration generation and routing version njs sees.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { TernError } from '../../../core/errors.js';

const run = promisify(execFile);

export interface NginxProcessOptions {
  /** The nginx binary (default `nginx` on PATH). */
  readonly bin: string;
  /** Working directory (`-p`), holding nginx.conf. */
  readonly dir: string;
  readonly controlPort: number;
}

export interface Probe {
  readonly generation: string;
  readonly version: number;
}

export class NginxProcess {
  readonly #opts: NginxProcessOptions;

  constructor(opts: NginxProcessOptions) {
    this.#opts = opts;
  }

  #args(conf: string): string[] {
    return ['-p', this.#opts.dir, '-c', conf, '-e', path.join(this.#opts.dir, 'error.log')];
  }

  /** Checks a config file. @throws TernError with NGINX's own message when it is refused. */
  async test(conf: string): Promise<void> {
    try {
      await run(this.#opts.bin, ['-t', '-q', ...this.#args(conf)]);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new TernError('TERN_INTERNAL', `nginx refused the configuration: ${stderr.trim()}`, { cause: err });
    }
  }

  /** The master's pid when one runs for this directory, else null. */
  async pid(): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(path.join(this.#opts.dir, 'nginx.pid'), 'utf8');
    } catch {
      return null;
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  /** Starts the master (it daemonises and outlives the agent). */
  async start(): Promise<number> {
    try {
      await run(this.#opts.bin, this.#args(path.join(this.#opts.dir, 'nginx.conf')));
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new TernError('TERN_INTERNAL', `nginx did not start: ${stderr.trim()}`, { cause: err });
    }
    for (let i = 0; i < 100; i++) {
      const pid = await this.pid();
      if (pid !== null) return pid;
      await sleep(20);
    }
    throw new TernError('TERN_INTERNAL', 'nginx started but wrote no pid file');
  }

  /**
   * Graceful reload: SIGHUP to the master, then waits until every worker that still accepts
   * connections is a new one (an old worker retitles itself "worker process is shutting down"
   * when it closes its listeners), so no new connection can reach the old configuration.
   */
  async reload(timeoutMs = 10_000): Promise<void> {
    const pid = await this.pid();
    if (pid === null) throw new TernError('TERN_INTERNAL', 'nginx is not running: nothing to reload');
    const before = new Set(await this.#accepting(pid));
    process.kill(pid, 'SIGHUP');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const now = await this.#accepting(pid);
      if (now.length > 0 && now.every((w) => !before.has(w))) return;
      await sleep(5);
    }
    throw new TernError('TERN_INTERNAL', 'nginx did not replace its workers after a reload (see its error.log)');
  }

  /** Workers of `master` that still accept connections (Linux /proc). */
  async #accepting(master: number): Promise<number[]> {
    const out: number[] = [];
    for (const child of await this.#children(master)) {
      const title = await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '');
      if (title.includes('worker process') && !title.includes('shutting down')) out.push(child);
    }
    return out;
  }

  async #children(master: number): Promise<number[]> {
    const text = await readFile(`/proc/${master}/task/${master}/children`, 'utf8').catch(() => '');
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  }

  /** Stops the master: `graceful` lets requests finish (SIGQUIT), else SIGTERM. Resolves once it is gone. */
  async stop(graceful = true): Promise<void> {
    const pid = await this.pid();
    if (pid === null) return;
    process.kill(pid, graceful ? 'SIGQUIT' : 'SIGTERM');
    for (let i = 0; i < 500; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(20);
    }
    process.kill(pid, 'SIGKILL');
  }

  /** The master's and workers' pids (from /proc; the master's alone where /proc is missing). */
  async pids(): Promise<number[]> {
    const master = await this.pid();
    if (master === null) return [];
    return [master, ...(await this.#children(master))];
  }

  /** What njs serves now on a fresh connection (so a reloaded config's new workers answer). */
  probe(timeoutMs = 1000): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.#opts.controlPort, path: '/tern/applied', agent: false, timeout: timeoutMs },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const [generation = '', version = '0'] = text.trim().split(' ');
            if (res.statusCode !== 200) reject(new Error(`control server answered ${String(res.statusCode)}`));
            else resolve({ generation, version: Number(version) });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('control server timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}

/**
 * Tern on NGINX for the data-plane bench (bench/dataplane/run.ts): NGINX with one worker and the
 * njs sticky split, driven by the agent in its own process (bench/dataplane/tern-nginx-agent.ts)
 * with a fixed table, evidence (access log tailed and aggregated) on or off.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TernOnNginx {
  readonly url: string;
  readonly agentPid?: number;
  readonly nginxPids: number[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts NGINX + the agent; `stop()` stops both and removes the temp dir. */
export async function startTernOnNginx(opts: {
  stableUrl: string;
  canaryUrl: string;
  weightBp: number;
  evidence: boolean;
}): Promise<TernOnNginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-nginx-'));
  const listen = `127.0.0.1:${await freePort()}`;
  const script = fileURLToPath(new URL('./tern-nginx-agent.ts', import.meta.url));
  const args = [
    '--import',
    'tsx',
    script,
    dir,
    listen,
    opts.stableUrl,
    opts.canaryUrl,
    String(opts.weightBp),
    ...(opts.evidence ? ['--evidence'] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      out += c;
      const m = /ready .*\n/.exec(out);
      if (m) resolve(m[0].trim());
    });
    child.once('exit', (code) => reject(new Error(`tern-nginx agent exited (${String(code)}) before it was ready: ${out}`)));
  });
  const [, url, pids] = line.split(' ');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: url!,
    ...(child.pid === undefined ? {} : { agentPid: child.pid }),
    nginxPids: pids!.split(',').map(Number),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      // The agent stops NGINX on SIGTERM; should it have died first, do not leave NGINX behind.
      try {
        process.kill(Number(pids!.split(',')[0]), 'SIGTERM');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Real Prometheus and Alertmanager for tests (Debian's prometheus and prometheus-alertmanager
 * packages, installed by .ci/run): each started on a free loopback port with its own config and
 * storage in a temp dir, waited for through its /-/ready endpoint, and killed by killAll().
 * Never the system services. `available()` says whether the binaries are installed; in CI
 * they always are and tests never skip there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';
export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
export const AMTOOL = '/usr/bin/amtool';

/** Whether the monitoring binaries are installed; false skips locally, CI installs them. */
export function monitoringAvailable(): boolean {
  return [PROMETHEUS, PROMTOOL, ALERTMANAGER, AMTOOL].every((f) => existsSync(f)) || process.env.CI === 'true';
}

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs a binary synchronously; returns its exit status and output. */
export function run(bin: string, args: readonly string[]): { status: number | null; output: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

async function untilReady(url: string, proc: Daemon, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (proc.child.exitCode !== null) throw new Error(`${url} exited: ${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface Daemon {
  readonly child: ChildProcess;
  output(): string;
  kill(): Promise<void>;
}

const daemons = new Set<Daemon>();

/** Spawns `bin` (tracked; stopped by stopDaemons()). */
function startBinary(bin: string, args: readonly string[]): Daemon {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const daemon: Daemon = {
    child,
    output: () => out,
    kill: async () => {
      daemons.delete(daemon);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  daemons.add(daemon);
  return daemon;
}

/** Stops every daemon started here. */
export async function stopDaemons(): Promise<void> {
  await Promise.all([...daemons].map((d) => d.kill()));
}

/** Alertmanager on a free port with a config that routes everything to a null receiver. */
export async function startAlertmanager(dir: string): Promise<{ url: string; proc: Daemon }> {
  const config = path.join(dir, 'alertmanager.yml');
  await writeFile(config, 'route:\n  receiver: none\n  group_wait: 0s\nreceivers:\n  - name: none\n');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = startBinary(ALERTMANAGER, [
      `--config.file=${config}`,
      `--storage.path=${path.join(dir, `am-data-${attempt}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await untilReady(url, proc);
      return { url, proc };
    } catch (err) {
      await proc.kill();
      if (attempt >= 2) throw err;
    }
  }
}

export interface ScrapeTarget {
  readonly job: string;
  readonly url: string;
  readonly token?: string;
}

/** Prometheus on a free port scraping `targets` every second. */
export async function startPrometheus(
  dir: string,
  targets: readonly ScrapeTarget[],
  rules: readonly string[] = [],
): Promise<{ url: string; proc: Daemon }> {
  const config = path.join(dir, 'prometheus.yml');
  const jobs = targets.map((t) => {
    const u = new URL(t.url);
    const auth = t.token === undefined ? '' : `    authorization:\n      credentials: ${JSON.stringify(t.token)}\n`;
    return `  - job_name: ${t.job}\n    metrics_path: ${u.pathname}\n${auth}    static_configs:\n      - targets: ['${u.host}']\n`;
  });
  const ruleFiles = rules.length === 0 ? '' : `rule_files:\n${rules.map((r) => `  - ${JSON.stringify(r)}\n`).join('')}`;
  await writeFile(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${ruleFiles}scrape_configs:\n${jobs.join('')}`);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = startBinary(PROMETHEUS, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, `prom-data-${attempt}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await untilReady(url, proc);
      return { url, proc };
    } catch (err) {
      await proc.kill();
      if (attempt >= 2) throw err;
    }
  }
}

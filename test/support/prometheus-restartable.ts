/**
 * A real Prometheus that a test can stop and start again on the same port over the same storage
 * (an outage, then recovery): scraping `targets` every second, on a free loopback port picked
 * once. Never the system service; stopped for good by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, PROMETHEUS } from './monitoring.js';

export interface RestartablePrometheus {
  readonly url: string;
  /** Stops it (SIGTERM, so its storage is kept); queries fail until `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage; resolves once it is ready. */
  start(): Promise<void>;
}

/** Starts Prometheus scraping each `targets` URL's /metrics every second. */
export async function startRestartablePrometheus(
  dir: string,
  targets: readonly { job: string; url: string }[],
): Promise<RestartablePrometheus> {
  const config = path.join(dir, 'prometheus.yml');
  const jobs = targets.map((t) => `  - job_name: ${t.job}\n    static_configs:\n      - targets: ['${new URL(t.url).host}']\n`);
  await writeFile(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs.join('')}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let output = '';

  const start = async (): Promise<void> => {
    const proc = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'prom-data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-20_000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null) throw new Error(`prometheus exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s: ${output}`);
      await sleep(100);
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return { url, start, stop };
}

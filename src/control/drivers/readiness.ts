/**
 * Readiness and ports for the process driver: a free loopback port to give a new instance,
 * and waiting until the instance answers its readiness path with 2xx — or exits, or the
 * timeout passes, whichever comes first.
 */
import { createServer } from 'node:net';
import { request } from 'undici';

/** A port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ReadyWait {
  readonly url: string;
  readonly timeoutMs: number;
  /** Settles with a description when the instance exits. */
  readonly exited: Promise<string>;
  readonly signal: AbortSignal;
  /** Between probes. Default 200 ms. */
  readonly intervalMs?: number;
}

async function probe(url: string, signal: AbortSignal): Promise<string | null> {
  try {
    const res = await request(url, { method: 'GET', signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return e.code ?? e.message ?? 'request failed';
  }
}

/** Resolves null once ready, else why not ("exited with code 1", "no 2xx within 30s (last: HTTP 503)"). */
export async function waitReady(w: ReadyWait): Promise<string | null> {
  let exit: string | null = null;
  void w.exited.then((why) => (exit = why));
  const deadline = Date.now() + w.timeoutMs;
  while (!w.signal.aborted) {
    if (exit !== null) return exit;
    const problem = await probe(w.url, w.signal);
    if (problem === null) return null;
    if (exit !== null) return exit;
    if (Date.now() >= deadline) return `no 2xx from GET ${w.url} within ${w.timeoutMs / 1000}s (last: ${problem})`;
    await new Promise((resolve) => setTimeout(resolve, w.intervalMs ?? 200));
  }
  return 'the controller stopped before the instance was ready';
}

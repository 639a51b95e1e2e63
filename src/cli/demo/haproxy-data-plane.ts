/**
 * `tern demo --data-plane haproxy`: HAProxy as the demo's data plane, driven the way
 * `tern agent haproxy` drives it (the HAProxy data plane + the reconciler + evidence from its
 * counters and sampled latency log), in the demo's process with a gateway-role token of its own.
 * The simulated users then go through HAProxy.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { startHaproxyDataPlane } from '../../providers/routers/haproxy/data-plane.js';
import { startReconciler } from '../../providers/routers/reconciler.js';
import { freePort } from './free-port.js';

/** The demo's data plane name (its status and evidence are keyed by it). */
export const DEMO_HAPROXY = 'demo-haproxy';

/**
 * Starts HAProxy (state in `<dataDir>/haproxy`) following `apiUrl`; `stop()` stops the agent
 * side and HAProxy. @throws HaproxyError when haproxy cannot start (e.g. not installed).
 */
export async function startHaproxyDemoDataPlane(opts: {
  apiUrl: string;
  token: string;
  dataDir: string;
  host: string;
  logger: Logger;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = path.join(opts.dataDir, 'haproxy');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const listen = { host: opts.host, port: await freePort(opts.host) };
  // Every request's latency is logged (the agent's default is 1 in 10): at the demo's few hundred
  // requests a second that costs nothing, and the judges get as many samples as the built-in gateway's.
  const plane = await startHaproxyDataPlane({ name: DEMO_HAPROXY, dir, listen, sampleEvery: 1, logger: opts.logger });
  const sync = startReconciler({
    router: plane.router,
    ...(plane.source ? { source: plane.source } : {}),
    url: opts.apiUrl,
    token: opts.token,
    dataPlane: DEMO_HAPROXY,
    logger: opts.logger,
  });
  await sync.firstPoll;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${listen.port}`,
    async stop() {
      await sync.stop();
      await plane.close({ stopProxy: true });
    },
  };
}

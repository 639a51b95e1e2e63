/**
 * `tern demo --data-plane nginx`: NGINX as the demo's data plane, driven the way
 * `tern agent nginx` drives it (NginxRouter + the reconciler + access-log evidence), in the demo's
 * process with a gateway-role token of its own. The simulated users then go through NGINX.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { NginxAccessLogSource } from '../../providers/metrics/nginx-access-log.js';
import { NginxRouter } from '../../providers/routers/nginx/nginx-router.js';
import { startReconciler } from '../../providers/routers/reconciler.js';
import { freePort } from './free-port.js';

/** Starts NGINX following `apiUrl`; `stop()` stops the agent and NGINX. */
export async function startNginxDataPlane(opts: {
  apiUrl: string;
  token: string;
  dataDir: string;
  host: string;
  logger: Logger;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const listen = `${opts.host}:${await freePort(opts.host)}`;
  const router = await NginxRouter.open({ stateDir: path.join(opts.dataDir, 'nginx-agent'), listen, logger: opts.logger });
  const source = new NginxAccessLogSource({
    name: 'demo-nginx',
    file: router.accessLogPath(),
    labelOf: (r, s) => router.labels.labelOf(r, s),
  });
  const sync = startReconciler({ router, source, url: opts.apiUrl, token: opts.token, dataPlane: 'demo-nginx', logger: opts.logger });
  await sync.firstPoll;
  return {
    url: `http://${listen}`,
    async stop() {
      await sync.stop();
      await source.close();
      await router.stopNginx();
    },
  };
}

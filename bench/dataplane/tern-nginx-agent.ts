/**
 * Benchmark helper: Tern's NGINX agent as its own process with a fixed routing table (no control
 * plane): one service at `/`, canary by the `x-user-id` header at WEIGHT_BP; with `--evidence`
 * it tails the access log and aggregates windows every second as `tern agent nginx` does.
 * Prints `ready <url>` once NGINX serves the table; SIGTERM stops NGINX and exits.
 *   node --import tsx bench/dataplane/tern-nginx-agent.ts STATE_DIR LISTEN STABLE_URL CANARY_URL WEIGHT_BP [--evidence]
 */
import { pino } from 'pino';
import { NginxAccessLogSource } from '../../src/providers/metrics/nginx-access-log.js';
import { NginxRouter } from '../../src/providers/routers/nginx/nginx-router.js';

const [stateDir, listen, stable, canary, weight] = process.argv.slice(2);
const evidence = process.argv.includes('--evidence');
const router = await NginxRouter.open({ stateDir: stateDir!, listen: listen!, workers: 1, evidence, logger: pino({ level: 'warn' }) });
await router.apply({
  version: 1,
  routes: [
    {
      service: 'bench',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
      rules: [],
      stable: { version: 'v1', endpoints: [stable!] },
      canary: { version: 'v2', endpoints: [canary!], weight: Number(weight), salt: 'abcdefghijklmnopqrstuv', releaseId: 'bench' },
    },
  ],
});
let windows = 0;
let requests = 0;
const source = evidence
  ? new NginxAccessLogSource({ name: 'bench', file: router.accessLogPath(), labelOf: (r, s) => router.labels.labelOf(r, s) })
  : null;
const timer = source
  ? setInterval(() => {
      for (const w of source.drainWindows(Date.now())) {
        windows++;
        requests += w.requests;
      }
    }, 1000)
  : null;
process.on('SIGTERM', () => {
  if (timer) clearInterval(timer);
  void router.stopNginx(false).then(() => {
    if (source) console.error(`evidence: ${windows} windows, ${requests} requests`);
    process.exit(0);
  });
});
console.log(`ready http://${listen!} ${(await router.pids()).join(',')}`);

/**
 * Benchmark helper: Tern's gateway as its own process with a fixed routing table (no control
 * plane): one service at `/`, stable and canary endpoints from argv, canary weight 5% by the
 * `x-user-id` header. `--workers N` shares the port over node:cluster like `tern gateway`.
 *   node --import tsx bench/gateway/serve-tern.ts PORT STABLE_URL CANARY_URL [--workers N]
 */
import cluster from 'node:cluster';
import { pino } from 'pino';
import { startGateway } from '../../src/gateway/gateway.js';

const [port, stable, canary] = process.argv.slice(2);
const workers = Number(process.argv[process.argv.indexOf('--workers') + 1] ?? 1) || 1;

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let ready = 0;
  cluster.on('message', () => {
    if (++ready === workers) console.log(`ready ${port}`);
  });
} else {
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: Number(port),
    admin: false,
    logger: pino({ level: 'warn' }),
    // Every benchmark client comes from 127.0.0.1 (10,000 idle connections in run.ts).
    limits: { maxConnectionsPerClient: 100_000 },
    initialTable: {
      version: 1,
      routes: [
        {
          service: 'bench',
          match: { pathPrefix: '/' },
          stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
          rules: [],
          stable: { version: 'v1', endpoints: [stable!] },
          canary: { version: 'v2', endpoints: [canary!], weight: 500, salt: 'bench', releaseId: 'bench' },
        },
      ],
    },
  });
  if (cluster.isWorker) process.send?.('ready');
  else console.log(`ready ${gateway.port}`);
  process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
}

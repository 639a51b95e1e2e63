/**
 * Benchmark floor: the same stack as Tern's gateway (node:http in, undici pools out) with none
 * of its work — no routing table, stickiness, header rewriting, health or metrics; a random
 * 95/5 split, headers passed through as they came, the response written in one call as Tern
 * does. What this reaches is what any node:http + undici proxy can reach on the machine, so
 * `b/e` is the share of that Tern keeps while doing its job.
 *   node --import tsx bench/gateway/serve-floor.ts PORT STABLE_URL CANARY_URL
 */
import { createServer } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [port, stable, canary] = process.argv.slice(2);
const pools = [new Pool(stable!, { connections: 256 }), new Pool(canary!, { connections: 256 })] as const;

const server = createServer((req, res) => {
  let held: Buffer | null = null;
  pools[Math.random() < 0.05 ? 1 : 0].dispatch(
    { path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: null },
    {
      onRequestStart() {},
      onResponseStart(_controller, status, headers) {
        res.writeHead(status, headers);
      },
      onResponseData(_controller, chunk) {
        if (held !== null) res.write(held);
        held = chunk;
      },
      onResponseEnd() {
        if (held === null) res.end();
        else res.end(held);
      },
      onResponseError() {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    },
  );
});
server.listen(Number(port), '127.0.0.1', () => console.log(`ready ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

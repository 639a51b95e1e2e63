/**
 * The demo's microservice: a tiny HTTP shop whose versions behave differently, so a release
 * has something to find. v1 and v2 are healthy (about 0.5% errors, ~20 ms); any version named
 * `v3` or ending in `-bad` is faulty (8% errors, about twice as slow). Started by Tern's
 * `process` deploy driver (or the demo itself for the first stable version):
 *   node dist/cli/demo/shop-app.js --port 9001 --version v2
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, version: { type: 'string', default: 'v1' } } });
const version = values.version;
const faulty = version === 'v3' || version.endsWith('-bad');
const errorRate = faulty ? 0.08 : 0.005;
const medianMs = faulty ? 40 : 20;

/** Log-normal-ish delay around the median (a shop's latency has a long right tail). */
function delay(): number {
  const u = Math.random() || 1e-9;
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  return medianMs * Math.exp(0.4 * z);
}

const server = createServer((req, res) => {
  req.resume();
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  setTimeout(() => {
    if (Math.random() < errorRate) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'checkout failed', version }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ shop: 'tern demo', version, items: 3 }));
  }, delay());
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`shop ${version} listening on ${typeof address === 'object' && address ? address.port : values.port}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

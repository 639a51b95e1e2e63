/**
 * Benchmark baseline: node `http-proxy` with keep-alive upstream agents and a random 95/5 split
 * (no stickiness), the way a hand-rolled Node canary proxy usually looks.
 *   node --import tsx bench/gateway/serve-http-proxy.ts PORT STABLE_URL CANARY_URL
 */
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const [port, stable, canary] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ agent });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res, { target: Math.random() < 0.05 ? canary : stable }));
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () => console.log(`ready ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

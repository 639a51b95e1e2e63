/**
 * Benchmark reference: a node:http server that answers `v1` itself, no proxying. Beside NGINX's
 * own `return 200` it shows what one Node hop costs on the machine before any work is done.
 *   node --import tsx bench/gateway/serve-hello.ts PORT
 */
import { createServer } from 'node:http';

const [port] = process.argv.slice(2);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
  res.end('v1\n');
});
server.listen(Number(port), '127.0.0.1', () => console.log(`ready ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

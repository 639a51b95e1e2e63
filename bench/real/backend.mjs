// One version of a backend service for bench/real/real-releases.ts: a separate node:http process
// per version, as in production. Answers every request with its version name; fails a share of
// requests with 500; waits a service time before answering. Plain JavaScript so it starts in
// milliseconds without a TypeScript loader.
//   node backend.mjs --version v2 [--port 0] [--delay-ms 5] [--extra-ms 20] [--extra-pct 50]
//                    [--error-rate 0.03] [--warmup-ms 10000 --warmup-factor 3]
// Service time: 0 (answer at once) when the delay is 0, else uniform in [0.5, 1.5] × delay,
// times (1 + extra-pct/100), plus extra-ms; during the first warmup-ms after start it is
// multiplied by warmup-factor. Prints `listening <port>` once ready.
import { createServer } from 'node:http';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    version: { type: 'string', default: 'v1' },
    'delay-ms': { type: 'string', default: '0' },
    'extra-ms': { type: 'string', default: '0' },
    'extra-pct': { type: 'string', default: '0' },
    'error-rate': { type: 'string', default: '0' },
    'warmup-ms': { type: 'string', default: '0' },
    'warmup-factor': { type: 'string', default: '1' },
  },
});
const num = (name) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number ≥ 0, got ${values[name]}`);
  return n;
};
const delayMs = num('delay-ms');
const extraMs = num('extra-ms');
const scale = 1 + num('extra-pct') / 100;
const errorRate = num('error-rate');
const warmupUntil = Date.now() + num('warmup-ms');
const warmupFactor = num('warmup-factor');
const version = values.version;
const okBody = `${version}\n`;
const errorBody = `error from ${version}\n`;

function serviceTimeMs() {
  const base = delayMs > 0 ? delayMs * (0.5 + Math.random()) * scale : 0;
  const t = base + extraMs;
  return Date.now() < warmupUntil ? t * warmupFactor : t;
}

const server = createServer((req, res) => {
  req.resume();
  const answer = () => {
    if (req.url === '/healthz') return res.end('ok');
    const fail = Math.random() < errorRate;
    res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain', 'x-app-version': version });
    res.end(fail ? errorBody : okBody);
  };
  const wait = serviceTimeMs();
  if (wait > 0) setTimeout(answer, wait);
  else answer();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));

/**
 * Where Tern-on-NGINX's CPU goes (the d/c ratio of bench/dataplane): NGINX variants run in interleaved wrk rounds,
 * each with one worker pinned to CPU 0 (wrk and the two `return 200` backends on CPU 1), and the
 * worker's CPU time per proxied request read from /proc (utime + stime over the backends'
 * stub_status request count), median over rounds:
 *   split   NGINX split_clients 95/5 on the user header (the bench's c)
 *   empty   split plus one `js_set` variable whose handler returns '' (the njs VM alone)
 *   tern    the agent's own nginx.conf, njs script and state file, evidence log on (the bench's d)
 *   tern0   the same with evidence off
 *   const   tern's nginx.conf with handlers that return constants (no file read, no hash): the
 *           structure's floor (the njs VM, maps, forwarding headers, Set-Cookie, evidence log)
 *   tern=FILE / tern0=FILE   the same config with the njs script in FILE (to try a change)
 *   node --import tsx bench/dataplane/njs-floor.ts [--variants split,empty,const,tern0,tern] [--rounds 5] [--duration 8]
 */
import { chmodSync, readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderNginxConfig } from '../../src/providers/routers/nginx/config.js';
import { njsScript } from '../../src/providers/routers/nginx/njs-script.js';
import { renderStateFile } from '../../src/providers/routers/nginx/state-file.js';
import type { RouteEntry } from '../../src/core/types.js';
import { backendBody, nginxSplitBody, writeNginx } from './configs.js';
import { servedCount, writeUserScript, wrk } from './load.js';
import { freePort, killChildren, processTree, sample, start, waitPort } from './procs.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: 'split,empty,const,tern0,tern' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '64' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.duration);
if (!(ROUNDS >= 1 && ROUNDS <= 50) || !(SECONDS >= 1 && SECONDS <= 120)) throw new Error('--rounds 1..50, --duration 1..120');
const work = mkdtempSync(path.join(tmpdir(), 'tern-njs-floor-'));
// NGINX workers of a root master run unprivileged: they must reach the state files.
chmodSync(work, 0o755);
const PROXY_CPU = 0;
const LOAD_CPU = 1;

interface Variant {
  readonly name: string;
  readonly url: string;
  readonly worker: number;
}

/** Starts NGINX in the foreground on the proxy CPU; resolves with its one worker's pid. */
async function startNginx(args: string[], port: number): Promise<number> {
  const master = start('nginx', args, PROXY_CPU);
  await waitPort(port);
  for (let i = 0; i < 100; i++) {
    const tree = processTree(master.pid!).filter((p) => p !== master.pid);
    if (tree.length > 0) return tree[0]!;
    await sleep(20);
  }
  throw new Error('no nginx worker');
}

function route(stableUrl: string, canaryUrl: string): RouteEntry {
  return {
    service: 'bench',
    match: { pathPrefix: '/' },
    stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
    rules: [],
    stable: { version: 'v1', endpoints: [stableUrl] },
    canary: { version: 'v2', endpoints: [canaryUrl], weight: 500, salt: 'abcdefghijklmnopqrstuv', releaseId: 'bench', bucketHash: 'xxh32' },
  };
}

async function startVariant(spec: string, ports: { stable: number; canary: number }): Promise<Variant> {
  const [name, files] = spec.split('=') as [string, string | undefined];
  const [file, edit, state] = (files ?? '').split(':').map((f) => (f === '' ? undefined : f));
  const port = await freePort();
  const dir = path.join(work, spec.replace(/[^a-z0-9]+/gi, '_'));
  if (name === 'split' || name === 'empty') {
    let body = nginxSplitBody(port, ports.stable, ports.canary);
    if (name === 'empty') {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'e.js'), "function e(r) { return ''; }\nexport default { e: e };\n");
      body = `  js_import e from ${dir}/e.js;\n  js_set $e e.e;\n${body.replace('proxy_pass', 'proxy_set_header X-E $e; proxy_pass')}`;
      body = `__LOAD__${body}`;
    }
    const args = writeNginx(dir, body.replace('__LOAD__', ''));
    if (name === 'empty') {
      const conf = path.join(dir, 'nginx.conf');
      writeFileSync(conf, `load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n${readFileSync(conf, 'utf8')}`);
    }
    return { name: spec, url: `http://127.0.0.1:${port}/`, worker: await startNginx(args, port) };
  }
  if (name !== 'tern' && name !== 'tern0' && name !== 'const') throw new Error(`unknown variant ${spec}`);
  for (const sub of ['live', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  const r = route(`http://127.0.0.1:${ports.stable}`, `http://127.0.0.1:${ports.canary}`);
  const { text } = renderNginxConfig([r], {
    dir,
    listen: `127.0.0.1:${port}`,
    controlPort: await freePort(),
    workers: 1,
    evidence: name !== 'tern0',
    exposeVersionHeader: false,
  });
  const edited = edit === undefined ? text : ((await import(path.resolve(edit))) as { default: (t: string) => string }).default(text);
  writeFileSync(path.join(dir, 'nginx.conf'), edited);
  let script = file === undefined ? njsScript(`${dir}/live/`) : readFileSync(file, 'utf8').replaceAll('@LIVE@', `${dir}/live/`);
  if (name === 'const')
    script = script.replace(
      /export default \{ pick: pick, issue: issue, log: log,/,
      "export default { pick: function () { return 's'; }, issue: function () { return ''; }, log: function () { return 'bench s'; },",
    );
  writeFileSync(path.join(dir, 'tern.js'), script);
  writeFileSync(path.join(dir, 'live', 'bench'), state === undefined ? renderStateFile(r, 1) : readFileSync(state, 'utf8'));
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'];
  return { name: spec, url: `http://127.0.0.1:${port}/`, worker: await startNginx(args, port) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

try {
  const [stable, canary, stableStatus, canaryStatus] = [await freePort(), await freePort(), await freePort(), await freePort()];
  start('nginx', writeNginx(path.join(work, 'stable'), backendBody('stable', stable, stableStatus)), LOAD_CPU);
  start('nginx', writeNginx(path.join(work, 'canary'), backendBody('canary', canary, canaryStatus)), LOAD_CPU);
  await Promise.all([waitPort(stable), waitPort(canary), waitPort(stableStatus), waitPort(canaryStatus)]);
  const variants: Variant[] = [];
  for (const spec of values.variants.split(',')) variants.push(await startVariant(spec, { stable, canary }));
  const script = path.join(work, 'users.lua');
  writeUserScript(script);
  const served = async (): Promise<number> => (await servedCount(stableStatus)) + (await servedCount(canaryStatus));
  console.log(
    `# njs floor: wrk -t2 -c${values.connections} -d${SECONDS}s, ${ROUNDS} interleaved rounds, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const v of variants) await wrk({ url: v.url, script, connections: 16, threads: 1, seconds: 2, cpu: LOAD_CPU });
  const rps = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const us = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const canaryShare = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const c0 = await servedCount(canaryStatus);
      const n0 = await served();
      const cpu0 = sample(v.worker)!.cpuSeconds;
      const r = await wrk({ url: v.url, script, connections: Number(values.connections), threads: 2, seconds: SECONDS, cpu: LOAD_CPU });
      const cpu1 = sample(v.worker)!.cpuSeconds;
      const n = (await served()) - n0;
      const c = (await servedCount(canaryStatus)) - c0;
      if (r.errors > 0) console.log(`${v.name}: ${r.errors} errors`);
      rps.get(v.name)!.push(r.rps);
      us.get(v.name)!.push(((cpu1 - cpu0) * 1e6) / n);
      canaryShare.get(v.name)!.push(c / n);
    }
    console.log(
      `round ${round + 1}: ${variants.map((v) => `${v.name} ${Math.round(rps.get(v.name)!.at(-1)!)} rps ${us.get(v.name)!.at(-1)!.toFixed(1)} µs`).join(' | ')}  (load ${loadavg()[0]!.toFixed(2)})`,
    );
  }
  const base = median(rps.get(variants[0]!.name)!);
  console.log(
    `# medians (ratio against ${variants[0]!.name}); load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const v of variants) {
    const m = median(rps.get(v.name)!);
    console.log(
      `${v.name.padEnd(28)} ${String(Math.round(m)).padStart(7)} rps  ${(m / base).toFixed(2)}×  worker CPU ${median(us.get(v.name)!).toFixed(1)} µs/request  canary ${(median(canaryShare.get(v.name)!) * 100).toFixed(1)}%`,
    );
  }
} finally {
  await killChildren();
  rmSync(work, { recursive: true, force: true });
}

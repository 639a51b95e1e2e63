/**
 * A real HAProxy (Debian's haproxy 2.6, installed by .ci/run) answering, for a salt and a user
 * key sent as raw header bytes, the sticky bucket's canonical formula computed by its own
 * converters: `var(txn.salt),concat(,txn.key,),xxh32` and `…,mod(10000)`, plus the hex of the
 * bytes it hashed. It runs from a fresh temp dir on a free loopback port (pid file inside),
 * never as the system service; stop() kills it. Used to produce and re-check
 * src/core/sticky-vectors.json independently of Tern's own xxh32.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './monitoring.js';

export const HAPROXY = '/usr/sbin/haproxy';

/** Whether haproxy is installed; false skips locally, CI installs it (and never skips). */
export function haproxyAvailable(): boolean {
  return existsSync(HAPROXY) || process.env.CI === 'true';
}

export interface HaproxyHash {
  readonly xxh32: number;
  readonly bucket: number;
  /** The bytes HAProxy hashed (salt then key), as it saw them. */
  readonly bytes: Buffer;
}

export interface HaproxyHasher {
  /** HAProxy's xxh32 and bucket of `salt` ‖ `key` (each sent as its UTF-8 bytes, Buffer.from). */
  hash(salt: string, key: string): Promise<HaproxyHash>;
  stop(): Promise<void>;
}

function config(dir: string, port: number): string {
  const formula = 'var(txn.salt),concat(,txn.key,)';
  return [
    'global',
    `  pidfile ${path.join(dir, 'haproxy.pid')}`,
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend hash',
    `  bind 127.0.0.1:${port}`,
    // fhdr: the whole header value (hdr would split it at commas).
    '  http-request set-var(txn.salt) req.fhdr(x-salt)',
    '  http-request set-var(txn.key) req.fhdr(x-key)',
    `  http-request return status 200 content-type text/plain lf-string "%[${formula},xxh32] %[${formula},xxh32,mod(10000)] %[${formula},hex]"`,
    '',
  ].join('\n');
}

/** One request on its own connection; the raw bytes go into the header as they are. */
function ask(port: number, salt: Buffer, key: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('haproxy did not answer in 5 s')));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(
      Buffer.concat([
        Buffer.from('GET / HTTP/1.1\r\nhost: hash\r\nconnection: close\r\nx-salt: '),
        salt,
        Buffer.from('\r\nx-key: '),
        key,
        Buffer.from('\r\n\r\n'),
      ]),
    );
  });
}

function parse(response: string, what: string): HaproxyHash {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`haproxy refused ${what}: ${head.split('\r\n')[0] ?? ''}`);
  const [xxh32 = '', bucket = '', hex = ''] = body.trim().split(' ');
  return { xxh32: Number(xxh32), bucket: Number(bucket), bytes: Buffer.from(hex, 'hex') };
}

async function untilListening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await ask(port, Buffer.from('probe'), Buffer.from('probe'));
      return;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${output()}`);
    if (Date.now() > deadline) throw new Error(`haproxy not listening after 10 s: ${output()}`);
    await sleep(50);
  }
}

/** Starts HAProxy in a fresh temp dir on a free port (retrying when the port is taken meanwhile). */
export async function startHaproxyHasher(): Promise<HaproxyHasher> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tern-haproxy-hash-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const file = path.join(dir, 'haproxy.cfg');
    await writeFile(file, config(dir, port));
    // -db: foreground, no daemon; the child is this very process, so kill() stops it.
    const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-10_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    try {
      await untilListening(port, child, () => out);
    } catch (err) {
      await stop();
      if (attempt < 2) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      hash: async (salt, key) => parse(await ask(port, Buffer.from(salt, 'utf8'), Buffer.from(key, 'utf8')), JSON.stringify([salt, key])),
      stop: async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

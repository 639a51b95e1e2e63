/**
 * TLS for Tern's listeners and for its clients of the control plane.
 *
 * Serving: `ServingTls.load({ certFile, keyFile })` reads and checks a PEM certificate (chain) and
 * its key once; `createHttpServer(tls, …)` then makes a node:https server with them (node:http
 * without), and `reload()` re-reads the files and swaps them into every attached server with
 * `server.setSecureContext` — new handshakes get the new certificate, connections already open
 * keep theirs, nothing is dropped. A reload whose files are bad changes nothing.
 *
 * Clients: `connectOptions(trust)` builds undici's `connect` option for reaching a Tern API over
 * HTTPS: `{ ca }` trusts that CA bundle only (instead of the system roots), `{ pinned }` accepts
 * exactly the certificates whose SHA-256 fingerprints it returns (the built-in gateway reaching its
 * own process over loopback, where no host name can match).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer as createPlainServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createSecureServer, type Server as HttpsServer } from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { buildConnector } from 'undici';
import { ValidationError } from '../core/errors.js';

export interface TlsFiles {
  /** PEM certificate, optionally followed by its intermediates. */
  readonly certFile: string;
  /** PEM private key (unencrypted) matching the certificate. */
  readonly keyFile: string;
}

/** A checked certificate and key, with what an operator wants to see in a log line. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, `AB:CD:…` as node prints it. */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly validTo: string;
}

type Field = 'tls.cert' | 'tls.key' | 'tls.ca';

/** A certificate, key or CA file that cannot be used; the message names the file and why. */
export class TlsFileError extends ValidationError {
  constructor(
    field: Field,
    readonly file: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(field, `${file}: ${reason}`, 'TERN_INVALID_REQUEST', { ...options, details: { file } });
  }
}

async function readPem(field: Field, file: string): Promise<Buffer> {
  const resolved = path.resolve(file);
  try {
    return await readFile(resolved);
  } catch (err) {
    throw new TlsFileError(field, resolved, `cannot read it (${readFailure(err)})`, { cause: err });
  }
}

function readFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'it is a directory';
  return e.message ?? String(err);
}

function parseCertificate(file: string, pem: Buffer, field: 'tls.cert' | 'tls.ca'): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsFileError(field, file, 'not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)');
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsFileError(field, file, `not a valid PEM certificate (${(err as Error).message})`, { cause: err });
  }
}

function parseKey(file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const encrypted = (err as { code?: string }).code === 'ERR_MISSING_PASSPHRASE';
    const why = encrypted ? 'the key is encrypted; give an unencrypted PEM key' : 'not a PEM private key (-----BEGIN PRIVATE KEY-----)';
    throw new TlsFileError('tls.key', file, why, { cause: err });
  }
}

/**
 * Reads and checks a certificate and its key: both readable, PEM, the key unencrypted and
 * belonging to the certificate.
 * @throws TlsFileError naming the file at fault.
 */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const certFile = path.resolve(files.certFile);
  const keyFile = path.resolve(files.keyFile);
  const [cert, key] = await Promise.all([readPem('tls.cert', certFile), readPem('tls.key', keyFile)]);
  const x509 = parseCertificate(certFile, cert, 'tls.cert');
  if (!x509.checkPrivateKey(parseKey(keyFile, key))) {
    throw new TlsFileError('tls.key', keyFile, `this key does not belong to the certificate in ${certFile}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsFileError('tls.cert', certFile, `OpenSSL refused the pair (${(err as Error).message})`, { cause: err });
  }
  return { cert, key, fingerprint256: x509.fingerprint256, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo };
}

/**
 * Reads a CA bundle (one or more PEM certificates) to trust instead of the system roots.
 * Synchronous: it is read once, where a command starts.
 * @throws TlsFileError naming the file when it is unreadable or holds no certificate.
 */
export function readCaFile(file: string): Buffer {
  const resolved = path.resolve(file);
  let pem: Buffer;
  try {
    pem = readFileSync(resolved);
  } catch (err) {
    throw new TlsFileError('tls.ca', resolved, `cannot read it (${readFailure(err)})`, { cause: err });
  }
  parseCertificate(resolved, pem, 'tls.ca');
  return pem;
}

/** The fields of a certificate an operator wants in a log line. */
export function certificateLog(m: TlsMaterial): Record<string, string> {
  return { subject: m.subject, fingerprint256: m.fingerprint256, validTo: m.validTo };
}

/** The certificate a process serves, shared by its listeners. */
export class ServingTls {
  readonly #files: TlsFiles;
  #material: TlsMaterial;
  readonly #servers = new Set<HttpsServer>();

  private constructor(files: TlsFiles, material: TlsMaterial) {
    this.#files = files;
    this.#material = material;
  }

  /** @throws TlsFileError when a file is unreadable or the pair is unusable. */
  static async load(files: TlsFiles): Promise<ServingTls> {
    return new ServingTls(files, await readTlsFiles(files));
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** Makes `server` take the next reload; it is forgotten when it closes. */
  attach(server: HttpsServer): void {
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
  }

  /**
   * Re-reads the files and swaps them into every attached server; open connections keep the
   * certificate they shook hands with.
   * @throws TlsFileError when the new files are bad — the current certificate then stays.
   */
  async reload(): Promise<TlsMaterial> {
    const next = await readTlsFiles(this.#files);
    for (const server of this.#servers) server.setSecureContext({ cert: next.cert, key: next.key });
    this.#material = next;
    return next;
  }
}

/** A node:https server serving `tls` (attached for reloads), or node:http without it. */
export function createHttpServer(tls: ServingTls | undefined, options: ServerOptions, handler?: RequestListener): Server {
  if (tls === undefined) return createPlainServer(options, handler);
  const server = createSecureServer({ ...options, cert: tls.material.cert, key: tls.material.key }, handler);
  tls.attach(server);
  return server;
}

/** True when the request came over TLS. */
export function isEncrypted(socket: object): boolean {
  return (socket as Partial<TLSSocket>).encrypted === true;
}

/** `http://host:port` or `https://…`, with IPv6 hosts in brackets. */
export function baseUrl(host: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** How a client decides to trust a Tern server it reaches over HTTPS (the system roots when absent). */
export type ServerTrust =
  | { readonly ca: Buffer | string }
  /** Accepts exactly the certificates with these SHA-256 fingerprints, whatever their name. */
  | { readonly pinned: () => readonly string[] };

/** undici's `connect` option for `trust`, with a connect timeout. */
export function connectOptions(trust: ServerTrust | undefined, timeoutMs: number): buildConnector.BuildOptions | buildConnector.connector {
  if (trust === undefined) return { timeout: timeoutMs };
  if ('ca' in trust) return { timeout: timeoutMs, ca: trust.ca };
  // Chain and name are not checked (a loopback address matches no certificate name); the
  // fingerprint is, after the handshake and before any byte of the request is sent.
  const connect = buildConnector({ timeout: timeoutMs, rejectUnauthorized: false });
  return (options, callback) => {
    connect(options, (err, socket) => {
      if (err !== null) return callback(err, null);
      if (options.protocol === 'https:') {
        const seen = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (!trust.pinned().includes(seen)) {
          socket.destroy();
          return callback(new Error(`the server's certificate (${seen}) is not the one this process serves`), null);
        }
      }
      callback(null, socket);
    });
  };
}

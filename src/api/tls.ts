/**
 * HTTPS for the API and the dashboard: the Fastify `https` option from the process's certificate
 * (Fastify then makes the node:https server and applies its own timeouts to it), the server
 * attached so a reload (SIGHUP) reaches it, and HSTS on every answer served over TLS
 * (RFC 6797 §7.2: never over plain HTTP, where an attacker could forge or strip it).
 */
import type { Server as HttpsServer } from 'node:https';
import { isEncrypted, type ServingTls } from '../net/tls.js';
import type { TernApp } from './route-config.js';

/** One year, the value browsers' preload lists ask for (no includeSubDomains: other hosts are not ours to pin). */
export const HSTS = 'max-age=31536000';

/** Fastify's `https` option for `tls`, or nothing for plain HTTP. */
export function httpsOption(tls: ServingTls | undefined): { https: { cert: Buffer; key: Buffer } } | Record<string, never> {
  return tls ? { https: { cert: tls.material.cert, key: tls.material.key } } : {};
}

/** Attaches the app's server to `tls` for reloads, and sends HSTS on answers over TLS. */
export function registerTls(app: TernApp, tls: ServingTls | undefined): void {
  if (tls) tls.attach(app.server as HttpsServer);
  app.addHook('onRequest', (request, reply, done) => {
    // On the raw response, so answers written past Fastify (the SSE stream) carry it too.
    if (isEncrypted(request.raw.socket)) reply.raw.setHeader('strict-transport-security', HSTS);
    done();
  });
}

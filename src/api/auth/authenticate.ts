/**
 * The one authentication and authorization hook: resolves the bearer token, checks the route's
 * `config.access` against the token's role, and rate-limits failed authentications per client
 * address group (addressGroup: IPv4 address or IPv6 /64). Runs in `onRequest`, before the body
 * is read, so unauthenticated clients cannot make the server parse (or audit the contents of)
 * their bodies.
 *
 * The token is checked BEFORE the address limit: a valid token is never refused by it. Many
 * callers share an address (the built-in gateway, every local CLI and a local TLS proxy all
 * come from 127.0.0.1), so refusing by address alone let anyone's bad guesses cut the control
 * plane's own data-plane channel. Checking first costs one SHA-256 and one indexed
 * lookup per request (tokens.ts: secrets have 256 bits, so a fast hash is right), and guessing
 * gains nothing from interleaving with valid calls: a guess is worth 2^-256 either way.
 */
import type { FastifyRequest } from 'fastify';
import { AuthError } from '../../core/errors.js';
import type { Clock, Role } from '../../core/types.js';
import type { Store, TokenRecord } from '../../store/store.js';
import type { Access, TernApp } from '../route-config.js';
import { MUTATING_METHODS } from '../audit/audit-context.js';
import { ROLE_ACCESS, canAccess } from './access.js';
import { addressGroup } from './client-address.js';
import type { FailureLimiter } from './failure-limiter.js';
import { bearerSecret, hashSecret } from './tokens.js';

/** Last-used times are written at most this often per token: gateways call every second. */
const TOUCH_EVERY_MS = 60_000;

export interface AuthDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly limiter: FailureLimiter;
}

/** Installs the hook. Throws (into the error mapping) AuthError 401 / 403 / 429. */
export function registerAuthentication(app: TernApp, deps: AuthDeps): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    if (request.is404) {
      // Unknown routes answer 404/405 (or 400 for a body they cannot parse) and reveal nothing,
      // so nothing is refused or counted here; but a mutating one by a valid token is audited
      // under that token, one row each like every authenticated request, not as anonymous.
      if (MUTATING_METHODS.has(request.method)) request.principal = await validPrincipal(request, deps.store);
      return;
    }
    const access = request.routeOptions.config.access;
    if (access === undefined) throw new Error(`route ${request.routeOptions.url ?? ''} has no access policy`);
    if (access === 'public') return;
    const record = await authenticate(request, deps);
    request.principal = { tokenId: record.id, name: record.name, role: record.role };
    if (!canAccess(record.role, access)) {
      throw new AuthError(
        'TERN_FORBIDDEN',
        `token "${record.name}" has role ${record.role}, which may not do this; it needs ${describeAccess(access)}`,
        {
          details: { role: record.role, needs: access },
        },
      );
    }
  });
}

async function validPrincipal(request: FastifyRequest, store: Store): Promise<FastifyRequest['principal']> {
  const secret = bearerSecret(request.headers.authorization);
  const record = secret === null ? undefined : await store.findTokenByHash(hashSecret(secret));
  return record && record.revokedAt === null ? { tokenId: record.id, name: record.name, role: record.role } : null;
}

async function authenticate(request: FastifyRequest, { store, clock, limiter }: AuthDeps): Promise<TokenRecord> {
  const secret = bearerSecret(request.headers.authorization);
  const record = secret === null ? undefined : await store.findTokenByHash(hashSecret(secret));
  if (!record || record.revokedAt !== null) {
    const group = addressGroup(request.ip);
    const waitMs = limiter.blockedFor(group);
    if (waitMs > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new AuthError('TERN_RATE_LIMITED', `too many failed authentications from ${group}; try again in ${retryAfterSeconds}s`, {
        details: { retryAfterSeconds },
      });
    }
    limiter.recordFailure(group);
    throw new AuthError(
      'TERN_UNAUTHENTICATED',
      secret === null ? 'missing bearer token; send "authorization: Bearer <token>"' : 'unknown or revoked token',
    );
  }
  const now = clock();
  if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_EVERY_MS) {
    try {
      await store.touchToken(record.id, now);
    } catch (err) {
      request.log.warn({ err, tokenId: record.id }, 'could not record token use');
    }
  }
  return record;
}

function describeAccess(access: Access): string {
  const roles = (Object.keys(ROLE_ACCESS) as Role[]).filter((role) => canAccess(role, access));
  return `${access} access (role ${roles.join(' or ')})`;
}

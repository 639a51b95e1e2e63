/**
 * API token secrets: 256 random bits shown once, only their SHA-256 stored. A fast hash is
 * right here (unlike passwords) because the secret has full entropy: nobody can guess it
 * faster than brute-forcing 2^256.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../../store/store.js';

/** Prefix that makes Tern secrets recognisable to people and secret scanners. */
export const SECRET_PREFIX = 'tern_';

/** A new secret: `tern_` + base64url of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** The stored form of a secret: lowercase hex SHA-256. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new token id: `tok_` + 16 hex characters. */
export function newTokenId(): string {
  return `tok_${randomBytes(8).toString('hex')}`;
}

/** Extracts the bearer secret from an Authorization header (RFC 6750 §2.1); null when absent or malformed. */
export function bearerSecret(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Whether an active (unrevoked) token already has `name`. Names are unique among active tokens:
 * the audit log names actors `token:<name>`, and two of one name could not be told apart.
 */
export async function activeTokenNamed(store: Pick<Store, 'listTokens'>, name: string): Promise<boolean> {
  return (await store.listTokens()).some((t) => t.name === name && t.revokedAt === null);
}

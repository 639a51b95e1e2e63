/**
 * The bootstrap admin token, so a fresh server can be administered at all: from
 * TERN_ADMIN_TOKEN when set, else generated on first start, written to `<dataDir>/admin.token`
 * (mode 0600) and handed back once for the server to print.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TernError } from '../core/errors.js';
import type { AuditInput } from '../core/types.js';
import type { Store } from '../store/store.js';
import { activeTokenNamed, generateSecret, hashSecret, newTokenId } from './auth/tokens.js';

export const BOOTSTRAP_TOKEN_NAME = 'bootstrap-admin';
export const ADMIN_TOKEN_FILE = 'admin.token';
/** Shorter secrets are refused: an admin token is the keys to every release. */
export const MIN_ENV_TOKEN_LENGTH = 16;
export const GATEWAY_TOKEN_NAME = 'embedded-gateway';
export const GATEWAY_TOKEN_FILE = 'gateway.token';

export interface BootstrapResult {
  /** True when this call created a token. */
  readonly created: boolean;
  /** The file the generated secret was written to; null unless one was generated. */
  readonly file: string | null;
  /** The generated secret (print it once); null otherwise — an env token is never echoed. */
  readonly secret: string | null;
}

/**
 * Makes sure an admin token exists. With `envToken`: a `bootstrap-admin` token with that secret
 * (created when missing). Without: when no active admin token exists, generates one.
 * @throws TernError TERN_INVALID_REQUEST when `envToken` is shorter than 16 characters or is
 * already the secret of a non-admin token; the store's or file system's errors.
 */
export async function ensureAdminToken(
  store: Store,
  options: { dataDir: string; envToken?: string | undefined },
): Promise<BootstrapResult> {
  const none: BootstrapResult = { created: false, file: null, secret: null };
  if (options.envToken !== undefined) {
    return { ...none, created: await ensureEnvToken(store, options.envToken) };
  }
  const tokens = await store.listTokens();
  if (tokens.some((t) => t.role === 'admin' && t.revokedAt === null)) return none;
  const secret = generateSecret();
  const file = path.join(options.dataDir, ADMIN_TOKEN_FILE);
  // The file is written first: should the store then fail, the next start simply generates anew,
  // whereas a stored token whose secret was never written down would lock everyone out.
  await writeSecretFile(file, secret);
  const id = newTokenId();
  await store.createToken(
    { id, name: BOOTSTRAP_TOKEN_NAME, role: 'admin', secretHash: hashSecret(secret) },
    bootstrapAudit(id, 'generated on first start'),
  );
  return { created: true, file, secret };
}

async function ensureEnvToken(store: Store, envToken: string): Promise<boolean> {
  if (envToken.length < MIN_ENV_TOKEN_LENGTH) {
    throw new TernError(
      'TERN_INVALID_REQUEST',
      `TERN_ADMIN_TOKEN is too short: use at least ${MIN_ENV_TOKEN_LENGTH} random characters (e.g. openssl rand -base64 32)`,
    );
  }
  const existing = await store.findTokenByHash(hashSecret(envToken));
  if (existing && existing.role !== 'admin') {
    throw new TernError(
      'TERN_INVALID_REQUEST',
      `TERN_ADMIN_TOKEN is the secret of token "${existing.name}", whose role is ${existing.role}, not admin; use another secret`,
    );
  }
  if (existing) return false;
  const id = newTokenId();
  await store.createToken(
    { id, name: BOOTSTRAP_TOKEN_NAME, role: 'admin', secretHash: hashSecret(envToken) },
    bootstrapAudit(id, 'from TERN_ADMIN_TOKEN'),
  );
  return true;
}

/**
 * The `gateway`-role secret the all-in-one server's embedded gateway uses to reach its own
 * control plane (the data plane never touches the store, even in one process). Kept in
 * `<dataDir>/gateway.token` (0600) and reused across restarts while its token is active;
 * otherwise a new token is created and written.
 * @throws the store's or file system's errors.
 */
export async function ensureGatewayToken(store: Store, dataDir: string): Promise<string> {
  const file = path.join(dataDir, GATEWAY_TOKEN_FILE);
  const existing = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => '',
  );
  if (existing && (await store.findTokenByHash(hashSecret(existing)))?.role === 'gateway') return existing;
  const secret = generateSecret();
  await writeSecretFile(file, secret);
  const id = newTokenId();
  // Several servers sharing one database each have an embedded gateway, and token names are
  // unique among active tokens: a name already in use gets a suffix of its own.
  const name = (await activeTokenNamed(store, GATEWAY_TOKEN_NAME))
    ? `${GATEWAY_TOKEN_NAME}-${randomBytes(3).toString('hex')}`
    : GATEWAY_TOKEN_NAME;
  await store.createToken(
    { id, name, role: 'gateway', secretHash: hashSecret(secret) },
    bootstrapAudit(id, 'for the embedded gateway', name, 'gateway'),
  );
  return secret;
}

function bootstrapAudit(id: string, reason: string, name = BOOTSTRAP_TOKEN_NAME, role = 'admin'): AuditInput {
  return {
    actor: 'system',
    source: null,
    action: 'token.create',
    target: `token/${id}`,
    outcome: 'success',
    reason,
    detail: { name, role },
  };
}

/** Writes the secret readable by the owner only, atomically (temp file + rename). */
async function writeSecretFile(file: string, secret: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${secret}\n`, { mode: 0o600, flag: 'w' });
  await chmod(temp, 0o600); // in case a stale temp file existed with wider permissions
  await rename(temp, file);
}

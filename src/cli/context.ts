/**
 * What every API command needs, resolved once from the global flags: the server URL, the token
 * (flag, TERN_TOKEN, else the local all-in-one server's `./.tern/admin.token`), the output format.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { isTernError } from '../core/errors.js';
import { createClient, type TernClient } from './client.js';
import { ApiError, UsageError } from './errors.js';
import { processIo, type Io, type OutputFormat } from './output.js';
import { caFrom } from './tls-flags.js';

export const DEFAULT_URL = 'http://127.0.0.1:7070';
/** A request's deadline when `--timeout` is not given, and the cap on each request of a wait. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Read when no token is given, so `tern server` in the same directory just works. */
export const LOCAL_TOKEN_FILE = path.join('.tern', 'admin.token');

export interface GlobalOptions {
  readonly url: string;
  readonly token?: string;
  /** PEM CA bundle file to trust for an https:// URL (--ca / TERN_CA). */
  readonly ca?: string;
  readonly output: OutputFormat;
  readonly timeout: string;
}

export interface CommandContext {
  readonly client: TernClient;
  readonly output: OutputFormat;
  readonly io: Io;
  /** Where the token came from, for hints: `flag` (or TERN_TOKEN), `file`, or `none`. */
  readonly tokenSource: 'flag' | 'file' | 'none';
  /** For a command that waits: `--timeout` in ms when given (the whole wait's deadline), else null. */
  readonly waitTimeoutMs: number | null;
}

export interface ContextOptions {
  /**
   * The command waits for a release (`--wait`, `watch`): an explicit `--timeout` bounds the
   * whole wait instead of one request, and each request gets at most REQUEST_TIMEOUT_MS.
   */
  readonly waits?: boolean;
}

/**
 * Builds the context from a command's merged global options.
 * @throws UsageError when --url is not an http(s) URL or --timeout is not a duration; CliError when --ca is unusable.
 */
export function contextFor(cmd: Command, io: Io = processIo, options: ContextOptions = {}): CommandContext {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const url = checkUrl(opts.url);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(opts.timeout, '--timeout');
  } catch (err) {
    throw new UsageError(isTernError(err) ? err.message : String(err));
  }
  let token = opts.token?.trim() || undefined;
  let tokenSource: CommandContext['tokenSource'] = token ? 'flag' : 'none';
  if (!token) {
    token = readLocalToken();
    if (token) tokenSource = 'file';
  }
  const explicit = cmd.getOptionValueSourceWithGlobals('timeout') === 'cli';
  const waitTimeoutMs = options.waits && explicit ? timeoutMs : null;
  const requestMs = options.waits ? Math.min(timeoutMs, REQUEST_TIMEOUT_MS) : timeoutMs;
  const ca = caFrom(opts.ca, '--ca');
  const client = createClient({ url, token, timeoutMs: Math.max(requestMs, 1), ...(ca ? { ca } : {}) });
  return { client, output: opts.output, io, tokenSource, waitTimeoutMs };
}

/**
 * Runs `fn` with a context and always releases the client's sockets.
 * @throws whatever `fn` or contextFor throws.
 */
export async function withContext(cmd: Command, fn: (ctx: CommandContext) => Promise<void>, options: ContextOptions = {}): Promise<void> {
  const ctx = contextFor(cmd, processIo, options);
  try {
    await fn(ctx);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && ctx.tokenSource !== 'flag') {
      err.hint =
        ctx.tokenSource === 'none'
          ? `no token was given: pass --token, set TERN_TOKEN, or run from the directory that holds ${LOCAL_TOKEN_FILE}`
          : `the token was read from ${LOCAL_TOKEN_FILE}, which belongs to the server started with that data directory; pass --token or set TERN_TOKEN for another server`;
    }
    throw err;
  } finally {
    await ctx.client.close();
  }
}

function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url "${text}" is not a URL; expected e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url "${text}" must be an http:// or https:// URL`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function readLocalToken(): string | undefined {
  try {
    return readFileSync(LOCAL_TOKEN_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

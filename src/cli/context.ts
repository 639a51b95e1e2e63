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

export const DEFAULT_URL = 'http://127.0.0.1:7070';
/** Read when no token is given, so `tern server` in the same directory just works. */
export const LOCAL_TOKEN_FILE = path.join('.tern', 'admin.token');

export interface GlobalOptions {
  readonly url: string;
  readonly token?: string;
  readonly output: OutputFormat;
  readonly timeout: string;
}

export interface CommandContext {
  readonly client: TernClient;
  readonly output: OutputFormat;
  readonly io: Io;
  /** Where the token came from, for hints: `flag` (or TERN_TOKEN), `file`, or `none`. */
  readonly tokenSource: 'flag' | 'file' | 'none';
}

/**
 * Builds the context from a command's merged global options.
 * @throws UsageError when --url is not an http(s) URL or --timeout is not a duration.
 */
export function contextFor(cmd: Command, io: Io = processIo): CommandContext {
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
  return { client: createClient({ url, token, timeoutMs: Math.max(timeoutMs, 1) }), output: opts.output, io, tokenSource };
}

/**
 * Runs `fn` with a context and always releases the client's sockets.
 * @throws whatever `fn` or contextFor throws.
 */
export async function withContext(cmd: Command, fn: (ctx: CommandContext) => Promise<void>): Promise<void> {
  const ctx = contextFor(cmd);
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

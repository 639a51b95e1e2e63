/**
 * A client of HAProxy's runtime API over a UNIX socket (the `stats socket … level admin` and
 * the master CLI of `-S`): one connection per command batch, the command written and the
 * write side half-closed, the whole answer read until HAProxy closes (non-interactive mode).
 */
import net from 'node:net';
import { HaproxyError } from './errors.js';

/** Sends `command` (several joined by `;`) and resolves with the answer; rejects after `timeoutMs` (default 5 s). */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => socket.destroy(new HaproxyError(`no answer to "${command.slice(0, 60)}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof HaproxyError ? err : new HaproxyError(`runtime API at ${socketPath}: ${err.message}`, { cause: err }));
    });
    socket.once('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.end(`${command}\n`);
  });
}

/** Answers of map commands that mean failure (HAProxy answers 200-style text, never a status). */
const FAILURE = /^(unknown|missing|not found|.*(?:failed|error|invalid|doesn't exist|can't|cannot|unable))/im;

/**
 * Runs a command and checks HAProxy's answer: against `success` when given (server commands,
 * whose refusals — "No such server.", "Already exists…" — match no failure wording), else
 * against the failure wording of map commands (success: an empty or "New version…" answer).
 * @throws HaproxyError with HAProxy's words when the command was refused.
 */
export async function runtimeAction(socketPath: string, command: string, success?: RegExp): Promise<string> {
  const answer = await runtimeCommand(socketPath, command);
  const refused = success === undefined ? FAILURE.test(answer.trim()) : !success.test(answer.trim());
  if (refused) throw new HaproxyError(`"${command.slice(0, 120)}" refused: ${answer.trim().slice(0, 200)}`);
  return answer;
}

/** Parses `show stat` CSV into rows keyed by its header (`# pxname,svname,…`). */
export function parseShowStat(csv: string): Array<Record<string, string>> {
  const lines = csv.split('\n').filter((l) => l !== '');
  const head = lines[0]?.replace(/^# /, '').split(',') ?? [];
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(head.map((h, i) => [h, cells[i] ?? '']));
  });
}

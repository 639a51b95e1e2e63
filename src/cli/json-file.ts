/**
 * Reads the JSON files commands accept with `--file` (a service spec, a service patch).
 */
import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';

/**
 * One JSON object read from `file` (- for stdin).
 * @throws CliError when the file cannot be read, is not JSON, or holds something else.
 */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`${file} must hold one JSON object (${what})`);
  return parsed as Record<string, unknown>;
}

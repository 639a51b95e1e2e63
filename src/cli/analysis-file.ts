/**
 * `--analysis-file FILE`: the API's `analysis` object (docs/api.md) read from a JSON or YAML file
 * (`-` for stdin) and checked here with the API's own schema and rules, so a mistake exits 2
 * naming the field before anything is sent. Loaded only when the flag is given (analysis-flags.ts):
 * the schemas and the YAML parser would slow every other command's start.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { problemsOf } from '../api/validation.js';
import { AnalysisInput as AnalysisSchema } from '../api/schemas/releases.js';
import { isTernError } from '../core/errors.js';
import { compileAnalysis, type AnalysisInput } from '../core/plan.js';
import { CliError, UsageError } from './errors.js';

const EXAMPLE = 'e.g. {"latency": {"tolerance": 0.2, "minDifferenceMs": 5}, "errorRate": {"max": 0.05}}';

/**
 * Reads and checks an analysis file. YAML is a superset of JSON, so one parser reads both.
 * @throws CliError (exit 1) when the file cannot be read; UsageError (exit 2) when it
 * is not YAML/JSON, not one object, or a field is unknown or out of range.
 */
export function readAnalysisFile(file: string, read: (f: string) => string = readText): AnalysisInput {
  const text = read(file);
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file} is neither JSON nor YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${file} must hold one object: the API's "analysis" settings, ${EXAMPLE}`);
  }
  const problems = problemsOf(AnalysisSchema, value, 'analysis');
  if (problems.length > 0) {
    throw new UsageError(`${file}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  const input = value as AnalysisInput;
  try {
    compileAnalysis(input);
  } catch (err) {
    if (isTernError(err)) throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
  return input;
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

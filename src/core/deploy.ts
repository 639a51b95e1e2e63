/**
 * Deploy settings of a service: user input (`{"driver":"process","command":"node app.js
 * --port {port}","instances":2,…}`) compiled once into a trusted `DeploySpec`.
 */
import { parseDuration } from './duration.js';
import { ValidationError } from './errors.js';
import type { DeploySpec, ProcessDeploy } from './types.js';

export interface ProcessDeployInput {
  readonly driver: 'process';
  readonly command: string;
  readonly instances?: number;
  readonly readiness?: { readonly path?: string; readonly timeout?: string | number };
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly retireAfter?: string | number;
}

export type DeployInput = { readonly driver: 'static' } | ProcessDeployInput;

export const MAX_INSTANCES = 16;
export const DEFAULT_READINESS_TIMEOUT_MS = 30_000;
export const DEFAULT_RETIRE_AFTER_MS = 30_000;
export const STATIC_DEPLOY: DeploySpec = { driver: 'static' };

/** Compiles deploy settings; absent means `static`. @throws ValidationError naming the field. */
export function compileDeploy(input: DeployInput | undefined, field = 'deploy'): DeploySpec {
  if (input === undefined) return STATIC_DEPLOY;
  switch (input.driver) {
    case 'static':
      return STATIC_DEPLOY;
    case 'process':
      return compileProcess(input, field);
    default: {
      const never: never = input;
      throw new ValidationError(
        `${field}.driver`,
        `unknown driver ${JSON.stringify((never as { driver: unknown }).driver)}; expected static or process`,
      );
    }
  }
}

function compileProcess(input: ProcessDeployInput, field: string): ProcessDeploy {
  const command = input.command.trim();
  if (command === '') throw new ValidationError(`${field}.command`, 'a command to run is required, e.g. "node app.js --port {port}"');
  const instances = input.instances ?? 1;
  if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) {
    throw new ValidationError(`${field}.instances`, `expected a whole number from 1 to ${MAX_INSTANCES}, got ${instances}`);
  }
  const path = input.readiness?.path ?? '/';
  if (!path.startsWith('/')) throw new ValidationError(`${field}.readiness.path`, `expected a path starting with "/", got "${path}"`);
  const timeout = input.readiness?.timeout;
  return {
    driver: 'process',
    command,
    instances,
    readiness: {
      path,
      timeoutMs: timeout === undefined ? DEFAULT_READINESS_TIMEOUT_MS : parseDuration(timeout, `${field}.readiness.timeout`),
    },
    env: { ...input.env },
    cwd: input.cwd ?? null,
    retireAfterMs: input.retireAfter === undefined ? DEFAULT_RETIRE_AFTER_MS : parseDuration(input.retireAfter, `${field}.retireAfter`),
  };
}

/**
 * What the long-running commands (`tern server`, `tern gateway`) share: their JSON logger with
 * secrets redacted, and graceful shutdown on the first SIGINT/SIGTERM (a second one forces exit).
 */
import path from 'node:path';
import { Option } from 'commander';
import pino, { type Logger } from 'pino';
import type { Io } from './output.js';

/** pino to stderr, or appended to `logFile`; authorization headers and secrets are redacted. */
export function createLogger(flags: { readonly logLevel: string; readonly logFile?: string }): Logger {
  const dest = flags.logFile === undefined ? 2 : path.resolve(flags.logFile);
  return pino(
    {
      level: flags.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'secret', '*.secret', 'adminToken', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest, sync: true, mkdir: true }),
  );
}

/** Resolves on the first SIGINT or SIGTERM; a second one forces exit (130). */
export function nextShutdownSignal(io: Io): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      const force = (): void => {
        io.err('error: second signal, exiting without finishing the shutdown');
        process.exit(130);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}

/** `--log-level` of the long-running commands (env TERN_LOG_LEVEL, default info). */
export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level')
    .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .env('TERN_LOG_LEVEL');
}

/**
 * The API's pino logger. Secrets never reach a log line: authorization and cookie headers and
 * any `secret` / `token` field are redacted, also on loggers the caller passes in.
 */
import { type Logger, pino } from 'pino';

/** Paths pino redacts (see pino's redaction docs for the syntax). */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  'secret',
  'token',
  '*.secret',
  '*.token',
  '*.*.secret',
  '*.*.token',
];

const REDACT = { paths: [...REDACT_PATHS], censor: '[redacted]' };

/** A new logger for the API at `level` (default `info`) with redaction on. */
export function createApiLogger(level = 'info'): Logger {
  return pino({ name: 'tern-api', level, redact: REDACT });
}

/** Wraps a caller's logger so the API's lines are redacted too. */
export function withRedaction(logger: Logger): Logger {
  return logger.child({}, { redact: REDACT });
}

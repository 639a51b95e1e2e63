/** Errors of the HAProxy data plane: what it cannot execute, and a proxy that refused a change. */
import { TernError, ValidationError } from '../../../core/errors.js';

/** A table needs a feature HAProxy cannot execute here (regex rules, the murmur3 bucket). */
export class HaproxyUnsupportedError extends ValidationError {
  constructor(field: string, message: string) {
    super(field, message, 'TERN_DATAPLANE_UNSUPPORTED');
  }
}

/** HAProxy refused or failed a change (runtime API error, invalid config, reload failed). */
export class HaproxyError extends TernError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TERN_INTERNAL', `haproxy: ${message}`, options);
  }
}

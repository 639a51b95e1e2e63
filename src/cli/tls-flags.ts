/**
 * The TLS flags of the long-running commands and what they share: `--tls-cert`/`--tls-key`
 * (env TERN_TLS_CERT/TERN_TLS_KEY), the certificate reload on SIGHUP, and bad certificate files
 * reported as one line naming the file.
 */
import { Option } from 'commander';
import type { Logger } from 'pino';
import { certificateLog, readCaFile, ServingTls, TlsFileError, type TlsFiles, type TlsMaterial } from '../net/tls.js';
import { CliError, UsageError } from './errors.js';

export interface TlsFlags {
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/** `--tls-cert` (env TERN_TLS_CERT); `what` names what is served over HTTPS. */
export function tlsCertOption(what: string): Option {
  return new Option('--tls-cert <file>', `serve ${what} over HTTPS with this PEM certificate (chain); reloaded on SIGHUP`).env(
    'TERN_TLS_CERT',
  );
}

/** `--tls-key` (env TERN_TLS_KEY). */
export function tlsKeyOption(): Option {
  return new Option('--tls-key <file>', 'the PEM private key of --tls-cert (unencrypted)').env('TERN_TLS_KEY');
}

/**
 * The certificate files, or undefined for plain HTTP.
 * @throws UsageError when only one of the two is given.
 */
export function tlsFiles(flags: TlsFlags): TlsFiles | undefined {
  const cert = flags.tlsCert || undefined;
  const key = flags.tlsKey || undefined;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined)
    throw new UsageError(
      `--tls-cert and --tls-key go together (or TERN_TLS_CERT and TERN_TLS_KEY): ${cert ? '--tls-key' : '--tls-cert'} is missing`,
    );
  return { certFile: cert, keyFile: key };
}

/** A CA bundle file read for a client (--ca, --control-plane-ca). @throws CliError naming the file. */
export function caFrom(file: string | undefined, flag: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readCaFile(file);
  } catch (err) {
    throw explainTls(err, flag);
  }
}

/** Loads the certificate to serve, or undefined without one. @throws CliError naming a bad file. */
export async function loadServingTls(files: TlsFiles | undefined): Promise<ServingTls | undefined> {
  if (files === undefined) return undefined;
  try {
    return await ServingTls.load(files);
  } catch (err) {
    throw explainTls(err);
  }
}

/** A TlsFileError as one line naming the flag and the file; anything else unchanged. */
export function explainTls(err: unknown, flag?: string): unknown {
  if (!(err instanceof TlsFileError)) return err;
  const name = flag ?? (err.field === 'tls.key' ? '--tls-key' : err.field === 'tls.ca' ? '--ca' : '--tls-cert');
  return new CliError(`${name}: ${err.message.replace(/^tls\.(cert|key|ca): /, '')}`);
}

/**
 * Reloads the certificate on every SIGHUP (which then no longer ends the process), logging the
 * outcome; a failed reload keeps the current certificate. Returns a function that stops listening.
 */
export function reloadOnSighup(reload: () => Promise<TlsMaterial>, logger: Logger): () => void {
  const onHup = (): void => {
    reload().then(
      (m) => logger.info(certificateLog(m), 'SIGHUP: TLS certificate reloaded'),
      (err: unknown) =>
        logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'SIGHUP: TLS reload failed; still serving the previous certificate',
        ),
    );
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}

/**
 * Flags every external data-plane agent shares (`tern agent haproxy`, `tern agent nginx`): the
 * control plane to follow (as `tern gateway`), the gateway-role token (or a file holding it),
 * the data plane's name, its state directory and the services it carries.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_URL } from './context.js';
import { UsageError } from './errors.js';
import { logLevelOption } from './lifecycle.js';
import { caFrom } from './tls-flags.js';

export interface AgentFlags {
  readonly controlPlane?: string[];
  readonly controlPlaneCa?: string;
  readonly tokenFile?: string;
  readonly name?: string;
  readonly stateDir?: string;
  readonly services: string;
  readonly logLevel: string;
  readonly logFile?: string;
}

/** Adds the shared agent flags to `command`. */
export function addAgentOptions(command: Command, kind: string): Command {
  return command
    .option(
      '--control-plane <url>',
      "the control plane's API URL (default: --url / TERN_URL); repeatable or comma-separated for servers sharing one database",
      (value: string, list: string[] | undefined) => [...(list ?? []), ...value.split(',').filter(Boolean)],
    )
    .addOption(
      new Option('--control-plane-ca <file>', 'trust only this PEM CA bundle for an https:// control plane (default: --ca / TERN_CA)').env(
        'TERN_CONTROL_PLANE_CA',
      ),
    )
    .option('--token-file <file>', 'read the gateway-role token from this file (default: --token / TERN_TOKEN)')
    .option('--name <name>', `this data plane's name, the key of its status and evidence (default: ${kind}-<hostname>)`)
    .option('--state-dir <dir>', `working directory: config, sockets, the applied table (default: ./.tern/${kind})`)
    .option('--services <list>', 'services this data plane carries: comma-separated names, or all', 'all')
    .addOption(logLevelOption())
    .option('--log-file <file>', 'append JSON logs to this file instead of stderr');
}

export interface AgentSettings {
  readonly urls: string[];
  readonly token: string;
  readonly trust?: { readonly ca: Buffer };
  readonly name: string;
  readonly stateDir: string;
  /** null = every service. */
  readonly services: string[] | null;
}

/** Compiles the shared flags. @throws UsageError for a missing token or a bad name or service list. */
export function agentSettings(flags: AgentFlags, globals: { url?: string; token?: string; ca?: string }, kind: string): AgentSettings {
  const token = flags.tokenFile ? readFileSync(flags.tokenFile, 'utf8').trim() : (globals.token ?? process.env.TERN_TOKEN);
  if (!token)
    throw new UsageError(
      'a gateway token is needed: --token-file, --token or TERN_TOKEN (create one with: tern token create NAME --role gateway)',
    );
  const name = flags.name ?? `${kind}-${hostname()}`;
  if (name.length < 1 || name.length > 200) throw new UsageError('--name: 1 to 200 characters');
  const list = flags.services.trim();
  const services =
    list === 'all'
      ? null
      : list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  if (services?.length === 0) throw new UsageError('--services: name at least one service, or all');
  const ca = flags.controlPlaneCa ? caFrom(flags.controlPlaneCa, '--control-plane-ca') : caFrom(globals.ca, '--ca');
  return {
    urls: flags.controlPlane ?? [globals.url ?? process.env.TERN_URL ?? DEFAULT_URL],
    token,
    ...(ca ? { trust: { ca } } : {}),
    name,
    stateDir: path.resolve(flags.stateDir ?? path.join('.tern', kind)),
    services,
  };
}

/**
 * The `tern` command tree (commander): global flags, every command, help text with exit codes,
 * and one place that turns any failure into a message on stderr and an exit code.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { registerAgentCommands } from './commands/agent-haproxy.js';
import { registerAgentNginxCommand } from './commands/agent-nginx.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerFeedbackCommands } from './commands/feedback.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerReleaseCommands } from './commands/release.js';
import { registerServerCommand } from './commands/server.js';
import { registerServiceCommands } from './commands/service.js';
import { registerTokenCommands } from './commands/token.js';
import { DEFAULT_URL, LOCAL_TOKEN_FILE } from './context.js';
import { describeError, EXIT, EXIT_CODE_HELP, exitCodeFor, type ExitCode } from './errors.js';
import { OUTPUT_FORMATS, processIo, type Io } from './output.js';

/** Builds the command tree; parsing errors throw CommanderError instead of exiting. */
export function buildProgram(io: Io = processIo): Command {
  const program = new Command('tern')
    .description('Tern: progressive delivery (canary releases) for microservices')
    // Only `-V` is a flag everywhere: `--version` belongs to `release start`; runCli handles `tern --version`.
    .version(packageVersion(), '-V', 'print the version (also: tern --version)')
    .addOption(new Option('--url <url>', 'Tern API base URL').env('TERN_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <secret>', `API token (default: ${LOCAL_TOKEN_FILE} if present)`).env('TERN_TOKEN'))
    .addOption(new Option('--ca <file>', 'trust only this PEM CA bundle for an https:// --url (default: the system roots)').env('TERN_CA'))
    .addOption(new Option('-o, --output <format>', 'table for people, json for machines').choices(OUTPUT_FORMATS).default('table'))
    .addOption(
      new Option(
        '--timeout <duration>',
        'give up on a request after this long, e.g. 10s; with --wait and release watch: stop waiting after this long (exit 13; no limit unless given)',
      ).default('30s'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `\n${EXIT_CODE_HELP}\n\nDocs: docs/cli.md`)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });

  registerServerCommand(program, io);
  registerGatewayCommand(program, io);
  registerAgentCommands(program, io);
  registerAgentNginxCommand(program, io);
  registerDemoCommand(program, io);
  registerServiceCommands(program);
  registerReleaseCommands(program);
  registerFeedbackCommands(program);
  registerAuditCommand(program);
  registerTokenCommands(program);
  // Subcommands copy exitOverride/output/help settings when created, so a bad flag anywhere exits 2.
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and resolves with the exit code.
 * Never throws: every failure is printed to stderr and mapped to an exit code (docs/cli.md).
 */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<ExitCode> {
  const program = buildProgram(io);
  if (argv.length === 1 && argv[0] === '--version') {
    io.out(packageVersion());
    return EXIT.ok;
  }
  const unknown = unknownCommand(program, argv);
  if (unknown) {
    io.err(`error: ${unknown}`);
    io.err('(run with --help for usage)');
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    // Commander has already printed its own message (or the help/version it was asked for).
    if (err instanceof CommanderError) return exitCodeFor(err);
    for (const line of describeError(err, Boolean(process.env.TERN_DEBUG))) io.err(line);
    return exitCodeFor(err);
  }
}

/**
 * The first word of `argv` that should name a subcommand but names none, as a message listing
 * the accepted ones; null when every command word is known. Commander shows the parent's help
 * (exit 0) for `tern agent haproxy --help` before it looks at `agent`, so this runs first.
 */
export function unknownCommand(program: Command, argv: readonly string[]): string | null {
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return null;
    if (word.startsWith('-')) {
      // Skip the value of an option that takes one (`--url http://…`, `-o json`), unless given as `--url=…`.
      const option = findOption(cmd, word);
      if (option && (option.required || option.optional) && !word.includes('=')) i++;
      continue;
    }
    if (cmd.commands.length === 0) return null;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      cmd = sub;
      continue;
    }
    if (word === 'help' || cmd.registeredArguments.length > 0) return null;
    const where = cmd === program ? 'tern' : `tern ${commandPath(cmd)}`;
    return `unknown command '${word}' for ${where}; expected one of: ${cmd.commands.map((c) => c.name()).join(', ')}`;
  }
  return null;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  const name = flag.split('=')[0];
  for (let c: Command | null = cmd; c; c = c.parent) {
    const found = c.options.find((o) => o.long === name || o.short === name);
    if (found) return found;
  }
  return undefined;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

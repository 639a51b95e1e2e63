/**
 * `tern release start|watch|list|status|promote|rollback|pause|resume|weight` (replay and logs
 * live in their own files).
 * Actions print one line saying where the release now stands; `-o json` prints the release.
 */
import type { Command } from 'commander';
import type { ReleaseAction, ReleaseStartBody } from '../client.js';
import { withContext, type CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { processTerminal, watchRelease, type WatchOptions } from '../watch/watch-release.js';
import { addAnalysisOptions, analysisFromFlags, type AnalysisFlags } from '../analysis-flags.js';
import { collect, collectKeyValue, parsePercent, parsePositiveInt } from '../parse.js';
import type { ReleaseView } from '../views.js';
import { registerLogsCommand } from './release-logs.js';
import { registerReplayCommand } from './release-replay.js';
import { addWebhookOptions, webhooksFromFlags, type WebhookFlags } from '../webhook-flags.js';
import { releaseLine, renderRelease, renderReleaseTable } from './release-view.js';

interface StartOptions extends AnalysisFlags, WebhookFlags {
  readonly version: string;
  readonly endpoint?: string[];
  readonly steps?: string;
  readonly metadata?: Record<string, string>;
  readonly reason?: string;
  readonly wait?: boolean;
}

/** Help shared by `start --wait` and `watch`. */
const WAIT_HELP = `
Waiting (start --wait, watch): follows the release until it stops moving. On a terminal a
live block shows status, step, weight, the hold left, requests and errors per version and
the judge's latest verdict per check; otherwise (or with -o json) one line per change (one
JSON object per line with -o json). The last line says the outcome and why.
  --timeout D  stop waiting after D (e.g. 10m; exit 13, the release keeps running)
  Ctrl-C       stop waiting (exit 130; the release keeps running)
Exit codes: 0 promoted, 10 rolled back, 11 failed, 12 paused (the wait ends rather than
hang a pipeline), 13 timed out, 130 interrupted; 2-5 as for every command.`;
const ACTIONS: ReadonlyArray<{ action: ReleaseAction; about: string }> = [
  { action: 'promote', about: 'move to the next step now (--full: straight to 100% and make it stable)' },
  { action: 'rollback', about: 'send every user back to the stable version and end the release' },
  { action: 'pause', about: 'stop automatic stepping; traffic stays where it is' },
  { action: 'resume', about: 'continue automatic stepping after a pause' },
];

/** Registers `tern release ...` on the program. */
export function registerReleaseCommands(program: Command): void {
  const release = program.command('release').description('start, watch and steer releases');

  const start = release
    .command('start')
    .description('start releasing a new version of a service to a sticky share of its users')
    .argument('<service>', 'service name')
    .requiredOption('--version <version>', 'label of the new version, e.g. v2 or a git sha')
    .option('--endpoint <url>', 'a canary endpoint base URL (repeatable)', collect)
    .option('--steps <plan>', 'plan: percents with optional holds, e.g. "5:30s,25:1m,100" (default 5:1m,25:2m,50:2m,100)');
  addWebhookOptions(addAnalysisOptions(start))
    .option('--metadata <key=value>', 'free-form metadata, e.g. commit=9f8d111 (repeatable)', collectKeyValue)
    .option('--reason <text>', 'why, for the audit log')
    .option('--wait', 'follow the release until it ends; the exit code says how (see below)')
    .addHelpText('after', WAIT_HELP)
    .action((service: string, opts: StartOptions, cmd: Command) => {
      const startedAt = Date.now();
      return withContext(
        cmd,
        async (ctx) => {
          const started = await ctx.client.startRelease(service, startBody(opts));
          if (opts.wait) return watchRelease(waitOptions(ctx, started.id, startedAt, 'started', started));
          if (ctx.output === 'json') return printJson(ctx.io, started);
          ctx.io.out(releaseLine(started));
          ctx.io.err(`Follow it with: tern release watch ${started.id}`);
        },
        { waits: opts.wait === true },
      );
    });

  release
    .command('watch')
    .description('follow a release until it ends (or pauses); the exit code says how (see below)')
    .argument('<id>', 'release id')
    .addHelpText('after', WAIT_HELP)
    .action((id: string, _opts: unknown, cmd: Command) => {
      const startedAt = Date.now();
      return withContext(cmd, (ctx) => watchRelease(waitOptions(ctx, id, startedAt, 'watching')), { waits: true });
    });

  release
    .command('list')
    .description("list a service's releases, newest first")
    .argument('<service>', 'service name')
    .option('--limit <n>', 'at most this many releases', parsePositiveInt)
    .action((service: string, opts: { limit?: number }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const answer = await ctx.client.listReleases(service, { limit: opts.limit });
        if (ctx.output === 'json') return printJson(ctx.io, answer);
        const { releases } = answer;
        if (releases.length === 0)
          return ctx.io.err(`No releases of ${service} yet. Start one with: tern release start ${service} --version V ...`);
        ctx.io.out(renderReleaseTable(releases));
      }),
    );

  release
    .command('status')
    .description('show a release: status, weight, step, plan')
    .argument('<id>', 'release id')
    .action((id: string, _opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const r = await ctx.client.getRelease(id);
        if (ctx.output === 'json') return printJson(ctx.io, r);
        ctx.io.out(renderRelease(r));
      }),
    );

  for (const { action, about } of ACTIONS) {
    const sub = release
      .command(action)
      .description(about)
      .argument('<id>', 'release id')
      .option('--reason <text>', 'why, for the audit log');
    if (action === 'promote') sub.option('--full', 'skip the remaining steps: go to 100% and make the version stable');
    sub.action((id: string, opts: { reason?: string; full?: boolean }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const body = { ...(opts.reason === undefined ? {} : { reason: opts.reason }), ...(opts.full ? { full: true } : {}) };
        show(ctx, await ctx.client.act(id, action, body));
      }),
    );
  }

  registerReplayCommand(release);
  registerLogsCommand(release);

  release
    .command('weight')
    .description('set the canary weight by hand (pauses automatic stepping)')
    .argument('<id>', 'release id')
    .argument('<percent>', 'share of users on the canary, 0 to 100', parsePercent)
    .option('--reason <text>', 'why, for the audit log')
    .action((id: string, percent: number, opts: { reason?: string }, cmd: Command) =>
      withContext(cmd, async (ctx) => show(ctx, await ctx.client.setWeight(id, percent, opts.reason))),
    );
}

function waitOptions(
  ctx: CommandContext,
  releaseId: string,
  startedAt: number,
  first: WatchOptions['first'],
  initial?: ReleaseView,
): WatchOptions {
  const live = ctx.output !== 'json' && process.stdout.isTTY === true;
  return {
    client: ctx.client,
    io: ctx.io,
    releaseId,
    first,
    initial,
    startedAt,
    timeoutMs: ctx.waitTimeoutMs,
    mode: live ? 'live' : ctx.output === 'json' ? 'json' : 'lines',
    terminal: processTerminal,
  };
}

function show(ctx: CommandContext, r: ReleaseView): void {
  if (ctx.output === 'json') return printJson(ctx.io, r);
  ctx.io.out(releaseLine(r));
}

function startBody(opts: StartOptions): ReleaseStartBody {
  const analysis = analysisFromFlags(opts);
  const webhooks = webhooksFromFlags(opts);
  return {
    version: opts.version,
    ...(opts.endpoint === undefined ? {} : { endpoints: opts.endpoint }),
    ...(opts.steps === undefined ? {} : { steps: opts.steps }),
    ...(analysis === undefined ? {} : { analysis }),
    ...(webhooks === undefined ? {} : { webhooks }),
    ...(opts.metadata === undefined ? {} : { metadata: opts.metadata }),
    ...(opts.reason === undefined ? {} : { reason: opts.reason }),
  };
}

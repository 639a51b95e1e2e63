/**
 * `tern release start|list|status|promote|rollback|pause|resume|weight` (DESIGN §3).
 * Actions print one line saying where the release now stands; `-o json` prints the release.
 */
import { Option, type Command } from 'commander';
import type { ReleaseAction, ReleaseStartBody } from '../client.js';
import { withContext, type CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { collect, collectKeyValue, parsePercent, parsePositiveInt } from '../parse.js';
import type { ReleaseView } from '../views.js';
import { releaseLine, renderRelease, renderReleaseTable } from './release-view.js';

interface StartOptions {
  readonly version: string;
  readonly endpoint?: string[];
  readonly steps?: string;
  readonly judge?: string;
  readonly onFailure?: string;
  readonly metadata?: Record<string, string>;
  readonly reason?: string;
}

const ACTIONS: ReadonlyArray<{ action: ReleaseAction; about: string }> = [
  { action: 'promote', about: 'move to the next step now (--full: straight to 100% and make it stable)' },
  { action: 'rollback', about: 'send every user back to the stable version and end the release' },
  { action: 'pause', about: 'stop automatic stepping; traffic stays where it is' },
  { action: 'resume', about: 'continue automatic stepping after a pause' },
];

/** Registers `tern release ...` on the program. */
export function registerReleaseCommands(program: Command): void {
  const release = program.command('release').description('start, watch and steer releases');

  release
    .command('start')
    .description('start releasing a new version of a service to a sticky share of its users')
    .argument('<service>', 'service name')
    .requiredOption('--version <version>', 'label of the new version, e.g. v2 or a git sha')
    .option('--endpoint <url>', 'a canary endpoint base URL (repeatable)', collect)
    .option('--steps <plan>', 'plan: percents with optional holds, e.g. "5:30s,25:1m,100" (default 5:1m,25:2m,50:2m,100)')
    .addOption(new Option('--judge <judge>', 'analysis method').choices(['sequential', 'threshold', 'mann-whitney']))
    .addOption(new Option('--on-failure <action>', 'what a failed analysis does').choices(['rollback', 'pause']))
    .option('--metadata <key=value>', 'free-form metadata, e.g. commit=9f8d111 (repeatable)', collectKeyValue)
    .option('--reason <text>', 'why, for the audit log')
    .action((service: string, opts: StartOptions, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const started = await ctx.client.startRelease(service, startBody(opts));
        if (ctx.output === 'json') return printJson(ctx.io, started);
        ctx.io.out(releaseLine(started));
        ctx.io.err(`Follow it with: tern release status ${started.id}`);
      }),
    );

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

function show(ctx: CommandContext, r: ReleaseView): void {
  if (ctx.output === 'json') return printJson(ctx.io, r);
  ctx.io.out(releaseLine(r));
}

function startBody(opts: StartOptions): ReleaseStartBody {
  const analysis = {
    ...(opts.judge === undefined ? {} : { judge: opts.judge }),
    ...(opts.onFailure === undefined ? {} : { onFailure: opts.onFailure }),
  };
  return {
    version: opts.version,
    ...(opts.endpoint === undefined ? {} : { endpoints: opts.endpoint }),
    ...(opts.steps === undefined ? {} : { steps: opts.steps }),
    ...(Object.keys(analysis).length ? { analysis } : {}),
    ...(opts.metadata === undefined ? {} : { metadata: opts.metadata }),
    ...(opts.reason === undefined ? {} : { reason: opts.reason }),
  };
}

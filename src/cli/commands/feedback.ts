/**
 * `tern feedback submit`: records a user's 1-5 score for the version they saw, e.g. from a
 * support tool or a script replaying survey answers. A `feedback` token is enough.
 */
import type { Command } from 'commander';
import { withContext } from '../context.js';
import { printJson, renderDetails } from '../output.js';
import { parseScore } from '../parse.js';

interface SubmitOptions {
  readonly score: number;
  readonly user?: string;
  readonly version?: string;
}

/** Registers `tern feedback ...` on the program. */
export function registerFeedbackCommands(program: Command): void {
  const feedback = program.command('feedback').description("users' feedback scores, compared between canary and stable by the judge");

  feedback
    .command('submit')
    .description(
      "record a user's score for the version they saw: --version, else the one the release's sticky split gives --user, else stable when no release runs",
    )
    .argument('<service>', 'the service the score is about')
    .requiredOption('--score <n>', 'the score, a whole number from 1 (worst) to 5 (best)', parseScore)
    .option('--user <key>', "the user's key as the gateway reads it (the service's sticky header or cookie value)")
    .option('--version <version>', 'the version the user saw: the stable or the canary version (wins over --user)')
    .action((service: string, opts: SubmitOptions, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const answer = await ctx.client.submitFeedback(service, {
          score: opts.score,
          ...(opts.user === undefined ? {} : { userKey: opts.user }),
          ...(opts.version === undefined ? {} : { version: opts.version }),
        });
        if (ctx.output === 'json') return printJson(ctx.io, answer);
        ctx.io.out(
          renderDetails([
            ['Service', service],
            ['Score', String(opts.score)],
            ['Version', answer.version ?? "- (in neither version's evidence)"],
            ['Release', answer.releaseId ?? '- (none running)'],
          ]),
        );
        if (answer.version === null) {
          ctx.io.err(
            'Warning: a release is running and the score names no version or user, so the judge cannot use it; pass --user or --version.',
          );
        }
      }),
    );
}

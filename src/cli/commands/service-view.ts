/**
 * How a service reads in a terminal: the detail block of `service get` and `service update`,
 * and the numbered rules of `service rules`.
 */
import type { CommandContext } from '../context.js';
import { formatAge, formatPercent, formatTime, orDash, renderDetails, renderTable } from '../output.js';
import { metricsText } from '../metrics-flags.js';
import type { RuleSpec, ServiceView } from '../views.js';

/** The detail block of one service. */
export function showService(ctx: CommandContext, s: ServiceView): void {
  ctx.io.out(
    renderDetails([
      ['Name', s.name],
      ['Host', orDash(s.match.host)],
      ['Path prefix', orDash(s.match.pathPrefix)],
      ['Stickiness', stickiness(s)],
      ['Stable', s.stable.version],
      ['Endpoints', s.stable.endpoints.join('\n') || '-'],
      [
        'Release',
        s.activeRelease ? `${s.activeRelease.id} (${s.activeRelease.status} at ${formatPercent(s.activeRelease.weight)})` : 'none active',
      ],
      ['Metrics', metricsText(s.metrics)],
      ['Rules', s.rules?.length ? s.rules.map((r, i) => `${i + 1}. ${ruleText(r)}`).join('\n') : '-'],
      ['Created', `${formatTime(s.createdAt)} (${formatAge(s.createdAt)})`],
      ['Updated', formatTime(s.updatedAt)],
    ]),
  );
}

/** `header x-user-id`, `cookie tern_uid` or `client IP`. */
export function stickiness(s: ServiceView): string {
  if (s.stickiness.header) return `header ${s.stickiness.header}`;
  if (s.stickiness.cookie) return `cookie ${s.stickiness.cookie}`;
  return 'client IP';
}

/** Numbered table of rules. */
export function renderRules(rules: readonly RuleSpec[]): string {
  return renderTable<{ rule: RuleSpec; n: number }>(
    [
      { header: '#', value: ({ n }) => String(n) },
      { header: 'when', value: ({ rule }) => (rule.header === undefined ? `cookie ${rule.cookie}` : `header ${rule.header}`) },
      {
        header: 'test',
        value: ({ rule }) => (rule.regex === undefined ? `equals ${JSON.stringify(rule.equals ?? '')}` : `matches /${rule.regex}/`),
      },
      { header: 'target', value: ({ rule }) => rule.target },
    ],
    rules.map((rule, i) => ({ rule, n: i + 1 })),
  );
}

/** `header x-tester equals "1" → canary`. */
export function ruleText(rule: RuleSpec): string {
  const what = rule.header === undefined ? `cookie ${rule.cookie}` : `header ${rule.header}`;
  const test = rule.regex === undefined ? `equals ${JSON.stringify(rule.equals ?? '')}` : `matches /${rule.regex}/`;
  return `${what} ${test} → ${rule.target}`;
}

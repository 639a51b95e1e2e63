/**
 * Checks the schemas cannot express (URL structure, rule regexes, times), compiled once
 * where input enters. Each throws ValidationError naming the field as a JSON path.
 */
import { ValidationError } from '../core/errors.js';
import { checkRulesBudget, compileRulePattern } from '../core/rule-regex.js';
import type { WebhookPolicy } from '../control/notify/destinations.js';
import type { MatchRule, Webhook } from '../core/types.js';
import { redactUrl } from '../core/webhooks.js';

export const MAX_RULE_REGEX = 256;

/**
 * Normalises endpoint base URLs (a bare `/` path is dropped: `http://h:1/` → `http://h:1`).
 * @throws ValidationError when one is not http(s), has credentials, a query or a fragment, or repeats.
 */
export function compileEndpoints(list: readonly string[], field: string): string[] {
  const seen = new Set<string>();
  return list.map((text, i) => {
    const url = parseUrl(text, `${field}[${i}]`);
    const normal = url.pathname === '/' ? `${url.protocol}//${url.host}` : url.href;
    if (seen.has(normal)) throw new ValidationError(`${field}[${i}]`, `"${text}" is listed twice`);
    seen.add(normal);
    return normal;
  });
}

function parseUrl(text: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(field, `"${text}" is not a URL; expected an http(s) base URL like http://10.0.0.5:8080`);
  }
  const problem =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? `scheme ${url.protocol} is not accepted; use http or https`
      : url.username || url.password
        ? 'credentials in the URL are not accepted'
        : url.search || text.includes('?')
          ? 'a query string is not accepted in a base URL'
          : url.hash || text.includes('#')
            ? 'a fragment is not accepted in a base URL'
            : null;
  if (problem) throw new ValidationError(field, `"${text}": ${problem}`);
  return url;
}

/**
 * Checks match rules: exactly one of header/cookie, exactly one of equals/regex, and a regex the
 * linear-time rule engine accepts (core/rule-regex.ts), within the service's per-request budget.
 * @throws ValidationError naming the rule (`body.rules[2].regex`) and why.
 */
export function compileRules(rules: readonly MatchRule[], field: string): MatchRule[] {
  const patterns: { field: string; cost: number }[] = [];
  const out = rules.map((rule, i) => {
    const at = `${field}[${i}]`;
    if ((rule.header === undefined) === (rule.cookie === undefined))
      throw new ValidationError(at, 'give exactly one of "header" or "cookie"');
    if ((rule.equals === undefined) === (rule.regex === undefined))
      throw new ValidationError(at, 'give exactly one of "equals" or "regex"');
    if (rule.regex !== undefined) patterns.push({ field: `${at}.regex`, cost: compileRulePattern(rule.regex, `${at}.regex`).cost });
    return { ...rule };
  });
  checkRulesBudget(patterns);
  return out;
}

/**
 * Checks compiled webhooks against the admin's destination policy (SSRF).
 * @throws ValidationError naming the webhook (`body.webhooks[1].url`) and why it is refused.
 */
export function allowedWebhooks(webhooks: Webhook[], policy: WebhookPolicy, field: string): Webhook[] {
  webhooks.forEach((hook, i) => {
    const refused = policy.refusesHost(new URL(hook.url).hostname);
    if (refused)
      throw new ValidationError(`${field}[${i}].url`, `${hook.type} webhook ${redactUrl(hook.url)}: destination refused: ${refused}`);
  });
  return webhooks;
}

/**
 * Parses `since`: ISO 8601 time or epoch milliseconds.
 * @throws ValidationError when it is neither.
 */
export function parseSince(text: string, field = 'query.since'): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new ValidationError(field, `"${text}" is not a time; expected ISO 8601 (2025-01-31T12:00:00Z) or epoch milliseconds`);
  return ms;
}

/** ISO text of an epoch-ms time. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** ISO text, or null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

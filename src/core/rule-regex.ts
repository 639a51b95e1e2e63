/**
 * Match-rule regular expressions, bounded in time (ReDoS). A rule's regex runs on
 * every request of its service, on a value the client chooses, so it must never backtrack:
 * `^(a+)+$` against 30 `a`s and a `!` froze the whole process for 4.8 s under JavaScript's
 * RegExp. Rules therefore run on RE2JS (the pure-JavaScript port of RE2): an automaton
 * simulation with no backtracking, linear in the input for every pattern it accepts. Why this
 * over rejecting "unsafe" patterns at the door and keeping RegExp: a checker that is sound for
 * V8's backtracking engine refuses ordinary rules (`a*b` unanchored is quadratic there: 0.6 s
 * on 16 KiB), and one that is not sound lets the next `^(a+)+$` through; a linear-time engine
 * is a guarantee for every pattern, not a heuristic.
 *
 * Linear is not yet cheap: the simulation costs (characters read) × (program size). So the work
 * per request is bounded twice: a rule reads at most {@link MAX_RULE_VALUE} characters (a longer
 * value matches no regex rule: the request follows the sticky split, as if the rule were not
 * there), and the compiled program sizes of one service's regex rules add up to at most
 * {@link MAX_RULES_PROGRAM} (checked where rules enter, reported per rule). bench/rules/rules.ts
 * measures the worst accepted rule set against a 16 KiB adversarial header.
 *
 * The syntax is RE2's, which agrees with JavaScript's for what match rules use; JavaScript-only
 * spellings (`\uXXXX`, `(?<name>…)`, `[^]`, `\/`) are translated. Backreferences and lookaround
 * cannot run in linear time and are refused with a message naming them, never ignored.
 */
import { RE2JS, RE2Set } from 're2js';
import { ValidationError } from './errors.js';

/** Characters of a header or cookie value a regex rule reads; a longer value matches no regex rule. */
export const MAX_RULE_VALUE = 256;
/** Sum of the compiled program sizes (RE2 instructions) of one service's regex rules. */
export const MAX_RULES_PROGRAM = 128;

export interface RulePattern {
  /** The pattern as the operator wrote it. */
  readonly source: string;
  /** Compiled program size (RE2 instructions): the per-character cost of a match. */
  readonly cost: number;
  /** True when the pattern matches somewhere in `value` (false for values over MAX_RULE_VALUE). */
  readonly test: (value: string) => boolean;
}

/** What the engine cannot do, found by a scan of the source that skips escapes and classes. */
function unsupported(source: string): string | null {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return `backreferences (\\${next}) are not supported`;
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'named backreferences (\\k<name>) are not supported';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (source[i + 1] === '^') i++;
      if (source[i + 1] === ']') i++; // RE2 reads a leading ] as a literal
    } else if (c === '(' && source[i + 1] === '?') {
      const look = source.slice(i + 2, i + 4);
      if (look.startsWith('=') || look.startsWith('!')) return `lookahead (${source.slice(i, i + 3)}) is not supported`;
      if (look === '<=' || look === '<!') return `lookbehind (${source.slice(i, i + 4)}) is not supported`;
    }
  }
  return null;
}

const WHY = 'rules match in linear time (RE2 syntax), which rules out backreferences and lookaround';

/**
 * Compiles one rule regex for the request path.
 * @throws ValidationError naming `field` when the pattern is malformed or uses what RE2 cannot run.
 */
export function compileRulePattern(source: string, field: string): RulePattern {
  const refused = unsupported(source);
  if (refused) throw new ValidationError(field, `${refused}: ${WHY}`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source));
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new ValidationError(field, `not a regular expression the rule engine accepts: ${reason} (${WHY})`, 'TERN_INVALID_REQUEST', {
      cause: err,
    });
  }
  const cost = re.programSize();
  if (cost > MAX_RULES_PROGRAM) {
    throw new ValidationError(
      field,
      `too complex: compiles to ${cost} instructions, at most ${MAX_RULES_PROGRAM} are accepted (large {n,m} repeats cost the most)`,
    );
  }
  // Not RE2JS's test(): it runs RE2's lazy DFA, whose state cache (8 MB per pattern) thrashes on
  // patterns like [ab]*a[ab]{20}c and made a request cost tens of ms. Asking for the match's
  // bounds (one group) routes to the one-pass, bit-state or NFA matcher, whose cost is the
  // bounded (characters × instructions); 1.3–5× faster than exec(), which also builds a result.
  const prog = re.re2();
  const matches = (value: string): boolean => (prog.matchWithGroup(value, 0, value.length, RE2Set.UNANCHORED, 1) as [boolean, unknown])[0];
  return { source, cost, test: (value) => value.length <= MAX_RULE_VALUE && matches(value) };
}

/**
 * Checks that one service's regex rules fit the per-request budget together.
 * @throws ValidationError naming the rule that goes over, with the sizes of all of them.
 */
export function checkRulesBudget(patterns: ReadonlyArray<{ readonly field: string; readonly cost: number }>): void {
  let total = 0;
  for (const { field, cost } of patterns) {
    total += cost;
    if (total > MAX_RULES_PROGRAM) {
      const sizes = patterns.map((p) => p.cost).join(' + ');
      throw new ValidationError(
        field,
        `the service's regex rules together compile to ${sizes} instructions, over the ${MAX_RULES_PROGRAM} one request may cost; use "equals" rules or simpler patterns`,
      );
    }
  }
}

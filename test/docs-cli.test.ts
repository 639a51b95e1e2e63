/**
 * The CLI docs and the CLI cannot drift apart. The command tree is built exactly as `tern`
 * builds it (buildProgram) and walked; docs/cli.md and README.md are read as a user reads them:
 *
 * - every `tern …` invocation in their code (inline spans and blocks) names commands that exist,
 *   uses flags the command (or a global option) has, and passes no more arguments than it takes;
 * - every option table (`| option | … |`) lists flags exactly as `--help` shows them, with the
 *   default, env variable and choices the code has, and every command table row (`| command |`)
 *   names a real command with real flags;
 * - and the other way round, for docs/cli.md: every command is documented, and every option
 *   each command's `--help` shows is listed for that command in an option table or its row.
 *
 * A flag added to the code but not to docs/cli.md, or documented but missing, fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Command, Option } from 'commander';
import { buildProgram } from '../src/cli/program.js';
import { ROOT } from './support/processes.js';

const silent = { out: () => undefined, err: () => undefined };
const program = buildProgram(silent);

/** A command's path below `tern`, e.g. `release start`; '' for `tern` itself. */
function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function allCommands(cmd: Command = program): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c))];
}

/** The options `tern <path> --help` lists for the command itself (global ones are the root's). */
function helpOptions(cmd: Command): Option[] {
  return cmd.createHelp().visibleOptions(cmd);
}

function commandAt(words: readonly string[]): Command | undefined {
  let cmd: Command | undefined = program;
  for (const w of words) cmd = cmd?.commands.find((c) => c.name() === w);
  return cmd;
}

/** The option `flag` (`--wait`, `-o`) of `cmd` or of one of its ancestors (the global options). */
function findOption(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const found = helpOptions(c).find((o) => o.long === flag || o.short === flag);
    if (found) return found;
  }
  return undefined;
}

const everyFlag = new Set(allCommands().flatMap((c) => helpOptions(c).flatMap((o) => [o.long, o.short].filter((f) => f !== undefined))));
/** `tern --version` is handled before commander sees it (runCli), so it is a flag too. */
everyFlag.add('--version');

/** Splits a shell line into words, keeping quoted strings whole (quotes removed). */
/** Shell words; a command substitution `$(…)` stays in its word, and redirections (`2>> file`) are dropped. */
function shellWords(line: string): string[] {
  const words = [...line.matchAll(/"([^"]*)"|'([^']*)'|((?:\$\([^)]*\)|\S)+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return words.filter((w, i) => !/^\d?>>?/.test(w) && !/^\d?>>?$/.test(words[i - 1] ?? ''));
}

interface Doc {
  readonly file: string;
  readonly lines: readonly string[];
}

function readDoc(relative: string): Doc {
  return { file: relative, lines: readFileSync(path.join(ROOT, relative), 'utf8').split('\n') };
}

/** A place in a doc, for messages. */
interface Where {
  readonly file: string;
  readonly line: number;
}
const at = (w: Where): string => `${w.file}:${w.line}`;

/** Code inside a doc: each inline code span and each (continued) line of a fenced block. */
function codeSnippets(doc: Doc): Array<{ text: string; where: Where; inline: boolean }> {
  const out: Array<{ text: string; where: Where; inline: boolean }> = [];
  let fenced = false;
  let pending = '';
  doc.lines.forEach((raw, i) => {
    const where = { file: doc.file, line: i + 1 };
    if (/^\s*```/.test(raw)) {
      fenced = !fenced;
      return;
    }
    if (fenced) {
      // Shell comments are prose; a trailing backslash continues the command on the next line.
      const line = raw.replace(/(^|\s)#.*$/, '');
      if (line.trimEnd().endsWith('\\')) {
        pending += `${line.trimEnd().slice(0, -1)} `;
        return;
      }
      out.push({ text: pending + line, where, inline: false });
      pending = '';
      return;
    }
    for (const m of raw.matchAll(/`([^`]+)`/g)) out.push({ text: m[1] ?? '', where, inline: true });
  });
  return out;
}

const STOP_WORDS = new Set(['|', '||', '&&', ';', '>', '2>', '2>&1', '<']);
const PLACEHOLDERS = new Set(['...', '…', '<command>']);

interface Invocation {
  readonly command: Command;
  /** Flags given, each with the command it was resolved on. */
  readonly flags: ReadonlyArray<{ flag: string; option: Option }>;
}

/**
 * Checks one `tern …` invocation (the words after `tern`); returns what it resolved to.
 * @throws AssertionError naming the doc line for an unknown command or flag or too many arguments.
 */
function checkInvocation(words: readonly string[], where: Where, text: string): Invocation {
  let cmd: Command = program;
  const flags: Array<{ flag: string; option: Option }> = [];
  let positionals = 0;
  let elided = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    // Shell operators end the command; so does prose after it, as in a diagram's `tern gateway (N replicas)`.
    if (STOP_WORDS.has(word) || /^(\$\(|\(|\|)/.test(word)) break;
    if (PLACEHOLDERS.has(word)) {
      elided = true;
      continue;
    }
    if (/^-{1,2}[A-Za-z]/.test(word)) {
      const flag = word.split('=')[0] ?? word;
      if (flag === '--help' || flag === '-h') continue;
      if (flag === '--version' && cmd === program && words.length === 1) continue;
      const option = findOption(cmd, flag);
      // After an elision (`tern … --wait`) the command is unknown: the flag must exist somewhere.
      if (!option && elided && cmd.commands.length > 0 && everyFlag.has(flag)) continue;
      assert.ok(option, `${at(where)}: \`tern ${pathOf(cmd)}\` has no option ${flag} (in: ${text})`);
      flags.push({ flag, option });
      if ((option.required || option.optional) && !word.includes('=')) i++;
      continue;
    }
    if (cmd.commands.length > 0) {
      const names = word.split('|');
      const subs = names.map((n) => cmd.commands.find((c) => c.name() === n));
      assert.ok(
        subs.every((s) => s !== undefined),
        `${at(where)}: \`tern ${pathOf(cmd)}\` has no command ${word}; it has ${cmd.commands.map((c) => c.name()).join(', ')} (in: ${text})`,
      );
      if (subs.length > 1) return { command: cmd, flags };
      cmd = subs[0] ?? cmd;
      continue;
    }
    positionals++;
  }
  const args = cmd.registeredArguments;
  const variadic = args.some((a) => a.variadic);
  assert.ok(
    variadic || positionals <= args.length,
    `${at(where)}: \`tern ${pathOf(cmd)}\` takes ${args.length} argument(s), the doc gives ${positionals} (in: ${text})`,
  );
  // `tern release start` alone names the command; an invocation with anything more must be complete.
  const nameOnly = positionals === 0 && flags.length === 0;
  if (!elided && !nameOnly && cmd.commands.length === 0 && !text.includes('--help')) {
    const required = args.filter((a) => a.required).length;
    assert.ok(
      positionals >= required,
      `${at(where)}: \`tern ${pathOf(cmd)}\` needs ${required} argument(s), the doc gives ${positionals} (in: ${text})`,
    );
  }
  return { command: cmd, flags };
}

/** Every `tern …` invocation in the doc's code (also `node bin/tern …`). */
function invocations(doc: Doc): Array<Invocation & { where: Where }> {
  const found: Array<Invocation & { where: Where }> = [];
  for (const { text, where } of codeSnippets(doc)) {
    // `[options]` stands for any options; `[--since WHEN]` is an optional flag, checked like a given one.
    const cleaned = text.replace(/\[[^\]]*options\]/g, ' ').replace(/\[(--[^\]]*)\]/g, ' $1 ');
    const words = shellWords(cleaned);
    words.forEach((w, i) => {
      if (w !== 'tern' && !w.endsWith('/tern')) return;
      if (words[i - 1]?.startsWith('-')) return; // an option's value (`--data-dir /var/lib/tern`), not a command
      found.push({ ...checkInvocation(words.slice(i + 1), where, text.trim()), where });
    });
  }
  return found;
}

interface Table {
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<{ cells: readonly string[]; where: Where }>;
  /** The command the table is about (from the heading or an "`X` options:" line above it), or null. */
  readonly context: Command | null;
  readonly where: Where;
}

function cellsOf(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The command a heading or an "`release start` options:" line is about, if any. */
function contextOf(line: string, where: Where): Command | null | undefined {
  const heading = /^#+\s+(.*)$/.exec(line);
  const lead = /^`(?:tern )?([a-z][a-z -]*)` options:?$/.exec(line.trim());
  if (!heading && !lead) return undefined; // not a context line: the context stays
  if (heading?.[1] === 'Global options') return program;
  const span = heading ? /`tern ([a-z][a-z -]*)`/.exec(heading[1] ?? '')?.[1] : lead?.[1];
  if (span === undefined) return null;
  const cmd = commandAt(span.trim().split(/\s+/));
  assert.ok(cmd, `${at(where)}: no command \`tern ${span}\``);
  return cmd;
}

function tables(doc: Doc): Table[] {
  const out: Table[] = [];
  let context: Command | null = null;
  let fenced = false;
  for (let i = 0; i < doc.lines.length; i++) {
    const line = doc.lines[i] ?? '';
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const changed = contextOf(line, { file: doc.file, line: i + 1 });
    if (changed !== undefined) context = changed;
    if (!line.trim().startsWith('|')) continue;
    const start = i;
    const rows: Array<{ cells: string[]; where: Where }> = [];
    for (i += 2; i < doc.lines.length && (doc.lines[i] ?? '').trim().startsWith('|'); i++) {
      rows.push({ cells: cellsOf(doc.lines[i] ?? ''), where: { file: doc.file, line: i + 1 } });
    }
    out.push({ header: cellsOf(line), rows, context, where: { file: doc.file, line: start + 1 } });
  }
  return out;
}

const firstSpan = (cell: string): string | undefined => /`([^`]+)`/.exec(cell)?.[1];

interface Documented {
  /** `path` → flags documented for exactly that command (in an option table or its command row). */
  readonly flags: Map<string, Set<string>>;
  /** Commands that have a row in a command table, or a heading / options line of their own. */
  readonly commands: Set<string>;
}

/**
 * Checks the doc's option and command tables against the code; returns what they document.
 * @throws AssertionError naming the row that disagrees with the code.
 */
function checkTables(doc: Doc): Documented {
  const documented: Documented = { flags: new Map(), commands: new Set() };
  const note = (cmd: Command, flag: string): void => {
    const key = pathOf(cmd);
    documented.flags.set(key, (documented.flags.get(key) ?? new Set()).add(flag));
  };
  for (const table of tables(doc)) {
    const kind = table.header[0]?.toLowerCase();
    if (table.context && kind === 'option') documented.commands.add(pathOf(table.context));
    for (const { cells, where } of table.rows) {
      const span = firstSpan(cells[0] ?? '');
      if (span === undefined) continue;
      const rowText = cells.join(' | ');
      if (kind === 'option' && table.context) {
        const cmd = table.context;
        const option = helpOptions(cmd).find((o) => o.flags === span);
        assert.ok(
          option,
          `${at(where)}: \`tern ${pathOf(cmd)}\` has no option spelt \`${span}\`; --help shows: ${helpOptions(cmd)
            .map((o) => o.flags)
            .join(', ')}`,
        );
        if (option.envVar)
          assert.ok(rowText.includes(option.envVar), `${at(where)}: ${span} reads ${option.envVar}; the row should say so`);
        // Defaults are strings or numbers here; JSON.stringify of a string adds quotes, so strip them.
        const byDefault =
          option.defaultValue === undefined || option.defaultValue === false
            ? null
            : JSON.stringify(option.defaultValue).replace(/^"|"$/g, '');
        if (byDefault !== null) {
          assert.ok(rowText.includes(byDefault), `${at(where)}: ${span} defaults to ${byDefault}; the row should say so`);
        }
        for (const choice of option.argChoices ?? []) {
          assert.ok(rowText.includes(choice), `${at(where)}: ${span} accepts ${choice}; the row should list it`);
        }
        note(cmd, option.long ?? option.short ?? span);
      } else if (kind === 'option') {
        for (const flag of span.match(/--?[a-z][a-z-]*/gi) ?? []) {
          assert.ok(everyFlag.has(flag), `${at(where)}: no command has ${flag}`);
        }
      } else if (kind === 'command') {
        const words = shellWords(span.replace(/\[[^\]]*options\]/g, ' ').replace(/[[\]]/g, ' '));
        const { command, flags } = checkInvocation(words, where, span);
        documented.commands.add(pathOf(command));
        for (const { option } of flags) if (helpOptions(command).includes(option)) note(command, option.long ?? option.short ?? '');
      }
    }
  }
  return documented;
}

/** Inline spans that are just a flag (`--wait`, `--timeout 20m`) name a flag some command has. */
function checkBareFlags(doc: Doc): number {
  let n = 0;
  for (const { text, where, inline } of codeSnippets(doc)) {
    if (!inline || !/^--?[a-z]/i.test(text)) continue;
    const flag = text.split(/[\s=,]/)[0] ?? '';
    assert.ok(everyFlag.has(flag), `${at(where)}: \`${text}\`: no tern command has ${flag}`);
    n++;
  }
  return n;
}

/** Commands and options of the code that `doc` does not document (see checkTables). */
function undocumented(doc: Doc): string[] {
  const documented = checkTables(doc);
  const missing: string[] = [];
  for (const cmd of allCommands()) {
    const key = pathOf(cmd);
    if (cmd !== program && cmd.commands.length === 0 && !documented.commands.has(key)) missing.push(`command: tern ${key}`);
    for (const option of helpOptions(cmd)) {
      const flag = option.long ?? option.short ?? option.flags;
      // --help is one row of the global options table, for every command.
      const owner = flag === '--help' ? '' : key;
      if (!documented.flags.get(owner)?.has(flag)) missing.push(`option: tern ${key} ${option.flags}`);
    }
  }
  return missing;
}

describe('docs/cli.md and README.md match the CLI', () => {
  const cli = readDoc('docs/cli.md');
  const readme = readDoc('README.md');

  it('every `tern …` invocation in docs/cli.md and README.md uses real commands, flags and arguments', () => {
    const found = [...invocations(cli), ...invocations(readme)];
    // The docs are full of examples; a parser that found none would be checking nothing.
    assert.ok(found.length > 40, `found only ${found.length} invocations`);
    const usedCommands = new Set(found.map((f) => pathOf(f.command)));
    for (const expected of ['server', 'gateway', 'service create', 'release start', 'release watch', 'token create', 'audit']) {
      assert.ok(usedCommands.has(expected), `an example runs tern ${expected}`);
    }
  });

  it('every `tern …` invocation in the other docs (docs/*.md) uses real commands, flags and arguments too', () => {
    const others = readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md') && f !== 'cli.md')
      .map((f) => readDoc(`docs/${f}`));
    const found = others.flatMap((doc) => invocations(doc));
    assert.ok(found.length > 20, `found only ${found.length} invocations in ${others.length} docs`);
  });

  it('every flag mentioned on its own in docs/cli.md and README.md exists', () => {
    assert.ok(checkBareFlags(cli) + checkBareFlags(readme) > 10);
  });

  it("option and command tables agree with the code (README's too)", () => {
    checkTables(readme);
    checkTables(cli);
  });

  it('docs/cli.md documents every command and every option its --help shows', () => {
    const missing = undocumented(cli);
    assert.deepEqual(missing, [], `not documented in docs/cli.md:\n  ${missing.join('\n  ')}`);
  });

  it('the checks catch drift: an undocumented flag and a documented flag the code lacks both fail', () => {
    const bogusRow = '| `--no-such-flag` | x |';
    const fakeDoc: Doc = { file: 'fake.md', lines: ['## `tern server`', '', '| option | meaning |', '|---|---|', bogusRow] };
    assert.throws(() => checkTables(fakeDoc), /has no option spelt `--no-such-flag`/);
    assert.throws(() => invocations({ file: 'fake.md', lines: ['`tern release start svc --version v2 --fast`'] }), /has no option --fast/);
    assert.throws(() => invocations({ file: 'fake.md', lines: ['`tern release frobnicate ID`'] }), /has no command frobnicate/);
    const withoutWait: Doc = { ...cli, lines: cli.lines.filter((l) => !l.startsWith('| `--wait` |')) };
    assert.ok(withoutWait.lines.length < cli.lines.length, 'docs/cli.md has a --wait row');
    assert.deepEqual(undocumented(withoutWait), ['option: tern release start --wait']);
  });
});

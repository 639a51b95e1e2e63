/**
 * Entry point of the `tern` CLI (bin/tern imports the built copy of this file).
 */
import { EXIT } from './errors.js';
import { runCli } from './program.js';

// A reader that went away (`tern release watch ID | head -3`) ends the command quietly, not
// with a stack trace from an unhandled EPIPE: with the command's code when it had finished,
// else 1 (it did not get to say how it ended).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.other);
  });
}

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// A handle left open by a dependency must not keep a finished command alive; the timer is
// unref'd, so it only fires if something else is still holding the event loop.
setTimeout(() => process.exit(code), 2_000).unref();

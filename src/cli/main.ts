/**
 * Entry point of the `tern` CLI (bin/tern imports the built copy of this file).
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// A handle left open by a dependency must not keep a finished command alive; the timer is
// unref'd, so it only fires if something else is still holding the event loop.
setTimeout(() => process.exit(code), 2_000).unref();

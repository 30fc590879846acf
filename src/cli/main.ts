#!/usr/bin/env node
// Entry point of the `swiftvr` bin. SIGINT / SIGTERM abort the running command through an
// AbortController (it stops cleanly, publishing nothing half-written); a second signal exits at once.
// First: V8's collection limits, before the rest loads (src/util/heap-limits.ts).
import './heap-setup.js';
import { runCli } from './cli.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(130);
  controller.abort(new Error(`received ${sig}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
// Exit once the output is flushed, whatever still holds the event loop (an inference thread, a
// socket): a command that has returned, above all a worker that failed to start, must not linger.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
process.exit(code);

#!/usr/bin/env node
import { run } from './cli.ts';
import { loadEnv } from './env.ts';

const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());
// `agentpod events --follow | head` closes the pipe early; that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await run(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, fetch, signal: interrupt.signal },
  loadEnv,
);
process.exitCode = code;
// Exit once stdout is flushed (pipes can be asynchronous), even if stdin or an idle connection would keep the
// event loop alive.
process.stdout.write('', () => process.exit(code));

import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { AppError } from '@agentpod/contracts';
import type { Io } from './context.ts';

/*
 * Questions go to stderr (stdout is for results). On a terminal a secret is read without echo; from a pipe the
 * first line is the answer, so `echo "$TOKEN" | agentpod login` works in scripts.
 */

export async function ask(io: Io, question: string, options: { secret?: boolean } = {}): Promise<string> {
  io.stderr.write(question);
  const terminal = io.stdin.isTTY === true;
  // On a terminal, readline echoes what is typed to `output`; for a secret that output swallows everything.
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!(options.secret && terminal)) io.stderr.write(String(chunk));
      done();
    },
  });
  const lines = createInterface({ input: io.stdin, output, terminal });
  try {
    return await new Promise<string>((resolve, reject) => {
      lines.once('line', (line) => {
        if (options.secret && terminal) io.stderr.write('\n');
        resolve(line.trim());
      });
      lines.once('close', () => reject(new AppError('invalid', 'no answer: standard input ended')));
      // In raw mode Ctrl-C reaches readline, not the process; without this the prompt would just pause.
      lines.once('SIGINT', () => {
        io.stderr.write('\n');
        reject(new AppError('invalid', 'interrupted'));
      });
    });
  } finally {
    lines.close();
  }
}

/** True when the answer is the expected word; used to confirm destructive commands. */
export async function confirm(io: Io, question: string, expected: string): Promise<boolean> {
  if (io.stdin.isTTY !== true) return false;
  return (await ask(io, question)) === expected;
}

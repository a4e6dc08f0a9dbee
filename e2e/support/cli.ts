import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The `agentpod` CLI as a user runs it: a child process started from the sources (as the built binary would run),
 * with nothing of the developer's environment but PATH, and a home directory of its own per person.
 */

const MAIN = fileURLToPath(new URL('../../packages/cli/src/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export type CliResult = {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON document `--json` promises; throws naming the command if it is not JSON. */
  json<T = Record<string, unknown>>(): T;
};

export type RunOptions = {
  /** Variables beyond the person's own (AGENTPOD_URL, AGENTPOD_TOKEN, …). */
  env?: Record<string, string>;
  /** Text on standard input, which is then closed. */
  stdin?: string;
  /**
   * Answers a prompt: once stderr matches `when`, the answer `with()` resolves to is typed on stdin (then closed).
   * For flows where the answer exists only after the CLI has acted (the link of an email the CLI asked for).
   */
  answer?: { when: RegExp; with: () => Promise<string> };
};

/** Someone at a terminal: their own HOME and XDG_CONFIG_HOME, so saved credentials never mix. */
export type Person = {
  home: string;
  /** `credentials.json` as `agentpod login` saves it for this person. */
  credentialsFile: string;
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
};

export async function person(home: string, base: Record<string, string> = {}): Promise<Person> {
  const config = join(home, '.config');
  await mkdir(config, { recursive: true });
  const env = { HOME: home, XDG_CONFIG_HOME: config, ...base };
  return {
    home,
    credentialsFile: join(config, 'agentpod', 'credentials.json'),
    run: (args, options = {}) => runCli(args, { ...options, env: { ...env, ...options.env } }),
  };
}

/** A CLI that has not exited by then is killed, so a hung prompt fails its test instead of the whole run. */
const DEADLINE_MS = 30_000;

export function runCli(args: readonly string[], options: RunOptions & { env: Record<string, string> }) {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let answering: Promise<void> | undefined;
  let failure: unknown;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const { answer } = options;
    if (answer && !answering && answer.when.test(stderr)) {
      answering = answer.with().then(
        (text) => {
          child.stdin.end(`${text}\n`);
        },
        (error: unknown) => {
          failure = error;
          child.kill('SIGTERM');
        },
      );
    }
  });
  const deadline = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
  // EPIPE when the CLI exits before reading its input is not the test's concern.
  child.stdin.on('error', () => undefined);
  if (!options.answer) child.stdin.end(options.stdin ?? '');
  return new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', async (code) => {
      clearTimeout(deadline);
      await answering;
      if (failure !== undefined) return reject(failure);
      resolve({
        code,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`agentpod ${args.join(' ')}: stdout is not one JSON document:\n${stdout}\n${stderr}`);
          }
        },
      });
    });
  });
}

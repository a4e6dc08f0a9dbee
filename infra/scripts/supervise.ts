import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { type CloseEvent, type Command, createConcurrently, LogError, LogExit, Logger, LogOutput } from 'concurrently';
import { display, repoRoot } from './proc.ts';

/*
 * Runs AgentPod's processes side by side with prefixed, coloured output (concurrently's programmatic API),
 * restarts a crashed one with exponential backoff, and stops them all on request.
 *
 * Two things are our own rather than concurrently's defaults, on purpose:
 * - spawn: concurrently runs each command line through /bin/sh; we look the command up and spawn its argv
 *   directly, so no shell is involved and the pid concurrently signals is the process itself.
 * - restarts: concurrently's RestartProcess would also restart a child that dies of our own SIGTERM during
 *   shutdown, and never forgets old crashes; ours stops restarting once stop() is called and starts counting
 *   afresh after a child has run for a minute.
 */

export type ProcessSpec = { name: string; argv: readonly [string, ...string[]] };

export type Supervisor = {
  /** SIGTERM to every child, SIGKILL to any still running after `graceMs`; resolves when all have exited. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when no child is running or waiting to restart (all exited cleanly or gave up). */
  idle: Promise<{ failed: string[] }>;
};

export type SuperviseOptions = {
  env: Record<string, string>;
  /** Restarts of a crashing child before giving up on it. */
  restartTries?: number;
  /** Delay before the first restart; doubles with each further one. */
  restartDelayMs?: number;
  /** A child that ran this long before crashing is considered healthy: its restart count starts again. */
  stableAfterMs?: number;
};

const COLORS = ['cyan', 'green', 'magenta', 'yellow', 'blue', 'red', 'cyanBright', 'greenBright', 'magentaBright'];

export function supervise(specs: readonly ProcessSpec[], options: SuperviseOptions): Supervisor {
  const { restartTries = 5, restartDelayMs = 1_000, stableAfterMs = 60_000 } = options;
  // The command line concurrently shows and hands back to `spawn`; the executable is shown by its name only.
  const label = (spec: ProcessSpec) => display(basename(spec.argv[0]), spec.argv.slice(1));
  const argvByCommand = new Map(specs.map((spec) => [label(spec), spec.argv]));
  const logger = new Logger({ prefixFormat: 'name' });
  logger.setPrefixLength(Math.max(...specs.map((spec) => spec.name.length)));

  const { commands } = createConcurrently(
    specs.map((spec, index) => ({
      name: spec.name,
      command: label(spec),
      env: options.env,
      prefixColor: COLORS[index % COLORS.length],
    })),
    {
      cwd: repoRoot,
      logger,
      outputStream: process.stdout,
      controllers: [new LogError({ logger }), new LogOutput({ logger }), new LogExit({ logger })],
      spawn: (command, spawnOptions) => {
        const argv = argvByCommand.get(command);
        if (!argv) throw new Error(`unknown command ${command}`);
        return spawn(argv[0], argv.slice(1), spawnOptions);
      },
    },
  );

  let stopping = false;
  const pending = new Set<Command>(commands);
  const failed: string[] = [];
  let resolveIdle: (value: { failed: string[] }) => void = () => {};
  const idle = new Promise<{ failed: string[] }>((resolve) => {
    resolveIdle = resolve;
  });
  const settle = (command: Command) => {
    pending.delete(command);
    if (pending.size === 0) resolveIdle({ failed });
  };

  for (const command of commands) {
    let restarts = 0;
    command.close.subscribe((event: CloseEvent) => {
      if (stopping || event.exitCode === 0) {
        settle(command);
        return;
      }
      if (event.timings.durationSeconds * 1000 >= stableAfterMs) restarts = 0;
      if (restarts >= restartTries) {
        logger.logCommandEvent(`${command.name} crashed ${restarts + 1} times in a row; not restarting it`, command);
        failed.push(command.name);
        settle(command);
        return;
      }
      const delay = restartDelayMs * 2 ** restarts;
      restarts += 1;
      logger.logCommandEvent(
        `restarting ${command.name} in ${delay / 1000} s (restart ${restarts} of ${restartTries})`,
        command,
      );
      setTimeout(() => {
        if (stopping) settle(command);
        else command.start();
      }, delay).unref();
    });
  }

  return {
    idle,
    async stop(graceMs = 10_000) {
      stopping = true;
      const running = commands.filter((command) => command.state === 'started');
      const exited = Promise.all(
        running.map((command) => new Promise<void>((resolve) => command.close.subscribe(() => resolve()))),
      );
      for (const command of running) command.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const command of running.filter((c) => c.state === 'started')) {
          logger.logCommandEvent(`${command.name} still running after ${graceMs / 1000} s; sending SIGKILL`, command);
          command.kill('SIGKILL');
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
      for (const command of commands) settle(command);
    },
  };
}

import { Writable } from 'node:stream';
import { AppError } from '@agentpod/contracts';
import type Docker from 'dockerode';
import { dockerError } from '../runtime/docker-errors.ts';
import type { OutputSink, StartOptions, TerminalExit, TerminalProcess } from './terminal-process.ts';

/** What a container terminal runs without a command: bash when the image has it, else sh, as a login shell. */
export const CONTAINER_SHELL = [
  '/bin/sh',
  '-c',
  'if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi',
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sink as a Writable, for docker-modem's demultiplexer (it writes each frame's payload to stdout or stderr). */
const into = (sink: OutputSink, stream: 'stdout' | 'stderr') =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      sink(chunk, stream);
      done();
    },
  });

/**
 * `docker exec` in a running container (the caller has checked it is AgentPod's): a tty, or stdout and stderr
 * apart (Docker multiplexes them on one stream without a tty). Input is written to the hijacked connection;
 * its half-close is the end of input. The exit code comes from `exec.inspect()` once the stream ends.
 */
export async function startContainerProcess(
  docker: Docker,
  containerId: string,
  options: StartOptions,
  sink: OutputSink,
): Promise<TerminalProcess> {
  const doing = `exec in ${containerId.slice(0, 12)}`;
  const exec = await docker
    .getContainer(containerId)
    .exec({
      Cmd: options.command ?? CONTAINER_SHELL,
      Tty: options.tty,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      ...(options.tty ? { Env: ['TERM=xterm-256color'] } : {}),
    })
    .catch((error) => {
      const failed = dockerError(error, doing);
      throw failed.code === 'conflict' ? new AppError('conflict', `${doing}: the container is not running`) : failed;
    });
  const stream = await exec
    .start({ hijack: true, stdin: true, Tty: options.tty })
    .catch((error) => Promise.reject(dockerError(error, doing)));
  if (options.tty) stream.on('data', (chunk: Buffer) => sink(chunk, 'stdout'));
  else docker.modem.demuxStream(stream, into(sink, 'stdout'), into(sink, 'stderr'));
  stream.on('error', () => {}); // a reset connection ends the stream; the exit code says how the process ended
  // Listened for at once: a command that exits at once (`true`, `exit 7`) ends the stream while the resize and
  // pid lookups below still run, and a listener added after that would wait for ever.
  const exited = new Promise<TerminalExit>((resolve) => {
    let done = false;
    const finish = async () => {
      if (done) return;
      done = true;
      // The stream may end a moment before Docker records the exit code.
      for (let attempt = 0; attempt < 100; attempt++) {
        const info = await exec.inspect().catch(() => null);
        if (!info) break;
        if (!info.Running) return resolve({ code: info.ExitCode ?? null });
        await sleep(20);
      }
      resolve({ code: null });
    };
    stream.once('end', () => void finish());
    stream.once('close', () => void finish());
    if (stream.readableEnded || stream.destroyed) void finish();
  });
  // Nothing is read until the session is live (it resumes the stream then): output made while the terminal
  // is being set up waits in the kernel and Docker, not in the agent's memory.
  stream.pause();

  const resize = async ({ cols, rows }: { cols: number; rows: number }) => {
    if (!options.tty) return;
    // Docker refuses a resize until the exec's process runs: retry briefly right after the start.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await exec.resize({ h: rows, w: cols });
        return;
      } catch {
        await sleep(25);
      }
    }
  };
  await resize(options.size);

  let pid: number | null = null;
  for (let attempt = 0; attempt < 40 && pid === null; attempt++) {
    const info = await exec.inspect().catch(() => null);
    if (info && info.Pid > 0) pid = info.Pid;
    else if (info && !info.Running && attempt > 0) break;
    else await sleep(25);
  }

  return {
    pid,
    exited,
    write: (bytes) => {
      if (stream.writable) stream.write(bytes);
    },
    endInput: () => stream.end(),
    resize: (size) => void resize(size),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    dispose: () => stream.destroy(),
  };
}

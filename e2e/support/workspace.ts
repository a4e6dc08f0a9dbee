import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { TerminalSocket } from '@agentpod/cli';

/*
 * What the workspace e2e test needs beyond the other support modules: a terminal client that records what it
 * receives and chooses when to acknowledge (so it can read at a bounded pace), the answer to a bare WebSocket
 * upgrade, resident memory of a process, and a snapshot of a directory tree to show that nothing was touched.
 */

export type Screen = {
  terminal: TerminalSocket;
  /** Everything received so far (stdout and stderr), as text. */
  text(): string;
  /** Bytes received so far. */
  bytes(): number;
  /** Resolves once the text received since `from` (a `text().length` taken earlier) matches. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
};

/**
 * A terminal opened as `token`, started with `command` (default: the login shell). With `pace` (bytes/s), output
 * is acknowledged no faster than that and only its count is kept (a slow reader of a flood); otherwise every
 * byte is acknowledged at once and the text kept.
 */
export async function openScreen(
  baseUrl: string,
  path: string,
  token: string,
  options: { command?: string[]; tty?: boolean; cols?: number; rows?: number; pace?: number } = {},
): Promise<Screen> {
  const terminal = await TerminalSocket.open({ baseUrl, path, token });
  let text = '';
  let received = 0;
  let acked = 0;
  const listeners = new Set<() => void>();
  // With a pace, output counts as read no faster than `pace` bytes/s since the start (a token bucket): acks follow
  // arrivals up to that allowance, and a timer acknowledges the rest as the allowance grows.
  const began = performance.now();
  const allowance = () => (options.pace === undefined ? received : ((performance.now() - began) / 1000) * options.pace);
  const acknowledge = () => {
    const next = Math.floor(Math.min(received, allowance()));
    if (next > acked) {
      acked = next;
      terminal.ack(acked);
    }
  };
  terminal.onOutput((bytes) => {
    received += bytes.length;
    if (options.pace === undefined) text += bytes.toString('utf8');
    acknowledge();
    for (const listener of listeners) listener();
  });
  if (options.pace !== undefined) {
    const timer = setInterval(acknowledge, 10);
    void terminal.ended.finally(() => clearInterval(timer));
  }
  void terminal.ended.then(() => {
    for (const listener of listeners) listener();
  });
  terminal.start(
    { cols: options.cols ?? 80, rows: options.rows ?? 24 },
    { command: options.command, tty: options.tty ?? true },
  );
  await terminal.ready;
  return {
    terminal,
    text: () => text,
    bytes: () => received,
    waitFor(pattern, from = 0, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        let ended = false;
        void terminal.ended.then(() => (ended = true));
        const check = () => {
          const match = pattern.exec(text.slice(from));
          if (match) done(() => resolve(match[0]));
          else if (ended) done(() => reject(new Error(`the terminal ended before ${pattern}:\n${text.slice(-2000)}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} in ${timeoutMs} ms:\n${text.slice(-2000)}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** The HTTP status the gateway answers a WebSocket upgrade of `path` with (101 when it upgrades). */
export function upgradeStatus(baseUrl: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, baseUrl), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        authorization: `Bearer ${token}`,
      },
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

/** VmRSS of a process, in bytes. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** Samples the RSS of some processes every `everyMs` until stopped; the largest growth over the first sample. */
export function sampleMemory(pids: Record<string, number>, everyMs = 100) {
  const baseline: Record<string, number> = {};
  const peak: Record<string, number> = {};
  const sample = async () => {
    for (const [name, pid] of Object.entries(pids)) {
      const rss = await residentBytes(pid);
      baseline[name] ??= rss;
      peak[name] = Math.max(peak[name] ?? 0, rss);
    }
  };
  const first = sample();
  const timer = setInterval(() => void sample().catch(() => undefined), everyMs);
  return {
    ready: first,
    async stop(): Promise<Record<string, { baseline: number; peak: number; growth: number }>> {
      clearInterval(timer);
      await sample();
      return Object.fromEntries(
        Object.keys(pids).map((name) => {
          const base = baseline[name] ?? 0;
          const top = peak[name] ?? 0;
          return [name, { baseline: base, peak: top, growth: top - base }];
        }),
      );
    },
  };
}

/** Every entry below `dir` (not following links): path → mode (with type), size, mtime of files, link target. */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (at: string, shown: string) => {
    for (const name of (await readdir(at)).sort()) {
      const full = join(at, name);
      const stats = await lstat(full);
      const target = stats.isSymbolicLink() ? await readlink(full) : '';
      // A directory's own mtime is left out: a refused write may create and remove a temporary name in it.
      const when = stats.isDirectory() ? '' : stats.mtimeMs;
      found.set(`${shown}/${name}`, [stats.mode.toString(8), stats.size, when, target].join(' '));
      if (stats.isDirectory()) await walk(full, `${shown}/${name}`);
    }
  };
  await walk(dir, '');
  return found;
}

/** The link the gateway printed in local mode for `email` (`sign-in` or `invitation`), the latest one. */
export function printedLink(output: string, kind: 'sign-in' | 'invitation', email: string): string | undefined {
  const pattern = new RegExp(`${kind} link for ${email.replace(/[.+]/g, '\\$&')}\\n\\s+(\\S+)`, 'g');
  return [...output.matchAll(pattern)].at(-1)?.[1];
}

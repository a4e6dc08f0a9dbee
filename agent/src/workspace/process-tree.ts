import { readdir, readFile } from 'node:fs/promises';

/*
 * A terminal's process and everything it started, from the host's /proc (the agent runs on the host, so a
 * `docker exec`'s pid from `exec.inspect()` is a host pid too). Signalling the tree rather than the one pid
 * matters for commands without a tty: `sh -c 'sleep 1000'` killed alone leaves its `sleep` to the container's
 * init, running on.
 */

/** A process as /proc/<pid>/stat says: its parent and its start time (which tells a reused pid apart). */
type ProcStat = { pid: number; ppid: number; start: string };

async function stat(pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after its last `)`.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return null;
  }
}

/** `root` and its descendants, as they are now (root first). */
export async function processTree(root: number): Promise<ProcStat[]> {
  const rootStat = await stat(root);
  if (!rootStat) return [];
  const names = await readdir('/proc').catch(() => [] as string[]);
  const all = (await Promise.all(names.filter((name) => /^\d+$/.test(name)).map((name) => stat(Number(name))))).filter(
    (entry): entry is ProcStat => entry !== null,
  );
  const children = new Map<number, ProcStat[]>();
  for (const entry of all) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry]);
  const tree: ProcStat[] = [rootStat];
  for (let index = 0; index < tree.length; index++) tree.push(...(children.get((tree[index] as ProcStat).pid) ?? []));
  return tree;
}

/** Sends `signal` to each process of `tree` that is still the same process (same start time). */
export async function signalTree(tree: readonly ProcStat[], signal: NodeJS.Signals): Promise<void> {
  for (const entry of tree) {
    const now = await stat(entry.pid);
    if (!now || now.start !== entry.start) continue;
    try {
      process.kill(entry.pid, signal);
    } catch {
      // Gone meanwhile, or not ours to signal: nothing left to do for it.
    }
  }
}

export type Terminator = {
  /** SIGHUP to the tree now, SIGKILL to whatever of it is left after `graceMs`. */
  terminate(pid: number | null, graceMs: number): Promise<void>;
};

/** Terminates process trees on this host. */
export const hostTerminator: Terminator = {
  async terminate(pid, graceMs) {
    if (pid === null || pid <= 0) return;
    const tree = await processTree(pid);
    await signalTree(tree, 'SIGHUP');
    const timer = setTimeout(() => {
      // Those that appeared since (a child forked while hanging up) are found again through the root if it lives.
      void processTree(pid).then((later) => {
        const same = later[0] !== undefined && later[0].start === tree[0]?.start;
        return signalTree(same ? [...tree, ...later] : tree, 'SIGKILL');
      });
    }, graceMs);
    timer.unref();
  },
};

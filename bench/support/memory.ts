import { readdir, readFile } from 'node:fs/promises';
import postgres from 'postgres';

/*
 * Resident memory of the control plane, read from /proc. Node processes and nats-server count with their VmRSS.
 * PostgreSQL backends map the server's shared buffers, which they share with each other and with every other
 * database on the server: a backend counts with its private part (VmRSS − RssShmem) and the shared buffers are
 * reported apart, once. Summed RSS counts the pages of a binary once per process mapping it (the node binary 8
 * times, postgres's once per backend), so two other views are summed too: PSS (each shared page divided among
 * the processes mapping it) and RssAnon (private memory only).
 */

const MB = 1024 * 1024;

type Status = { rss: number; anon: number; shmem: number };

async function readStatus(pid: number): Promise<Status | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), shmem: kb('RssShmem') };
}

/** Proportional set size; undefined where smaps_rollup is not readable (another user's process without root). */
async function readPss(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => undefined);
  const match = text === undefined ? null : /^Pss:\s+(\d+) kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** The process whose command line contains `needle` (nats-server started with its own config file). */
export async function findPid(needle: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(needle)) return Number(entry);
  }
  return undefined;
}

export type MemoryReport = {
  /** Node processes + nats-server (RSS) + the database's backends (private RSS), in bytes. */
  totalBytes: number;
  /** Per process, in bytes. */
  parts: { name: string; bytes: number }[];
  backends: {
    count: number;
    /** VmRSS − RssShmem, summed: what `totalBytes` counts for them. */
    privateBytes: number;
    /** RssAnon alone (without the postgres binary's file pages, which every PostgreSQL process shares). */
    anonBytes: number;
    largestShmemBytes: number;
    /** Connections per application_name (each service names its pool). */
    byApplication: Record<string, number>;
  };
  sharedBuffers: string;
  /** Sum of PSS over the same processes; undefined when a process's PSS could not be read. */
  pssBytes: number | undefined;
  /** Sum of RssAnon over the same processes: private memory only, no mapped binaries or shared memory. */
  anonBytes: number;
};

/**
 * Reads the memory of `processes` (name → pid) and of the PostgreSQL backends connected to `database`, found
 * through `adminUrl` (a maintenance database, so the connection asking is not one of them).
 */
export async function measureMemory(options: {
  processes: readonly { name: string; pid: number }[];
  adminUrl: string;
  database: string;
}): Promise<MemoryReport> {
  const sql = postgres(options.adminUrl, { max: 1, onnotice: () => {} });
  let backends: { pid: number; application_name: string }[];
  let sharedBuffers: string;
  try {
    backends = await sql<{ pid: number; application_name: string }[]>`
      select pid, application_name from pg_stat_activity where datname = ${options.database}`;
    const [setting] = await sql<{ shared_buffers: string }[]>`show shared_buffers`;
    sharedBuffers = setting?.shared_buffers ?? '?';
  } finally {
    await sql.end({ timeout: 5 });
  }

  const parts: MemoryReport['parts'] = [];
  let processAnon = 0;
  let pss: number | undefined = 0;
  const addPss = (value: number | undefined) => {
    pss = pss === undefined || value === undefined ? undefined : pss + value;
  };
  for (const { name, pid } of options.processes) {
    const status = await readStatus(pid);
    if (!status) throw new Error(`${name} (pid ${pid}) is not running; its memory cannot be read`);
    parts.push({ name, bytes: status.rss });
    processAnon += status.anon;
    addPss(await readPss(pid));
  }
  let privateBytes = 0;
  let anonBytes = 0;
  let largestShmem = 0;
  let counted = 0;
  const byApplication: Record<string, number> = {};
  for (const { pid, application_name } of backends) {
    const status = await readStatus(pid);
    if (!status) continue; // a connection that closed since the query
    counted += 1;
    const application = application_name || '(unnamed)';
    byApplication[application] = (byApplication[application] ?? 0) + 1;
    privateBytes += status.rss - status.shmem;
    anonBytes += status.anon;
    largestShmem = Math.max(largestShmem, status.shmem);
    addPss(await readPss(pid));
  }
  parts.push({ name: `postgres backends (${counted})`, bytes: privateBytes });
  return {
    totalBytes: parts.reduce((sum, part) => sum + part.bytes, 0),
    parts,
    backends: { count: counted, privateBytes, anonBytes, largestShmemBytes: largestShmem, byApplication },
    sharedBuffers,
    pssBytes: pss,
    anonBytes: processAnon + anonBytes,
  };
}

export const toMb = (bytes: number): number => Math.round(bytes / MB);

/** `gateway 80, pods 95, …` in MB, largest first. */
export const describeParts = (parts: MemoryReport['parts']): string =>
  [...parts]
    .sort((a, b) => b.bytes - a.bytes)
    .map((part) => `${part.name} ${toMb(part.bytes)}`)
    .join(', ');

/** `pods 10, reconciler 11, …`: the database's connections per application, most first. */
export const describeConnections = (byApplication: Record<string, number>): string =>
  Object.entries(byApplication)
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');

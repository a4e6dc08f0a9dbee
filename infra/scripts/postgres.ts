import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { hostPort, isLoopback } from './env.ts';
import { isListening, isRoot, progress, type RunResult, run, runOrFail, StepError, tail, waitFor } from './proc.ts';

/*
 * PostgreSQL on a Debian machine: start the local cluster (postgresql-common's pg_ctlcluster, which works
 * without systemd, e.g. in a container or CI), make the URL's login work, create the database.
 * SQL values are passed as psql variables (:'name' quotes a literal, :"name" an identifier), never spliced.
 */

type Cluster = { version: string; name: string; port: number; status: string };

const STEP = 'PostgreSQL';

/** psql arguments for a URL; the password travels in PGPASSWORD so it shows in no process list or message. */
function psql(url: URL, args: string[], input?: string): Promise<RunResult> {
  const target = new URL(url);
  const password = decodeURIComponent(target.password);
  target.password = '';
  const env = { ...process.env, PGCONNECT_TIMEOUT: '5', ...(password ? { PGPASSWORD: password } : {}) };
  const options = { env, timeoutMs: 30_000, ...(input === undefined ? {} : { input }) };
  // -w: fail instead of prompting for a password nobody can type.
  return run('psql', ['-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-d', target.href, ...args], options);
}

/** The same server, database `postgres`: where databases are created from. */
function maintenanceUrl(url: URL): URL {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return admin;
}

function withoutPassword(url: URL): string {
  const shown = new URL(url);
  shown.password = '';
  return shown.href;
}

const roleOf = (url: URL): string => decodeURIComponent(url.username) || userInfo().username;

async function clusters(): Promise<Cluster[]> {
  const result = await run('pg_lsclusters', ['--no-header']);
  if (result.code !== 0) return [];
  return result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(/\s+/))
    .map(([version = '', name = '', port = '0', status = '']) => ({ version, name, port: Number(port), status }));
}

/** Installed server versions, newest first (/usr/lib/postgresql/<version>). */
function installedVersions(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    return [];
  }
}

/** The local cluster serving `port`, created (newest installed version, named main) when there is none. */
async function clusterFor(port: number): Promise<Cluster> {
  const all = await clusters();
  const found = all.find((c) => c.port === port);
  if (found) return found;
  if (all.length > 0) {
    const list = all.map((c) => `${c.version}/${c.name} on port ${c.port}`).join(', ');
    throw new StepError(
      STEP,
      'pg_lsclusters',
      `no cluster uses port ${port}; found ${list}`,
      'point AGENTPOD_DATABASE_URL at one of those ports',
    );
  }
  const version = installedVersions()[0];
  if (!version) {
    throw new StepError(
      STEP,
      'ls /usr/lib/postgresql',
      'no PostgreSQL server is installed',
      'apt-get install -y postgresql',
    );
  }
  const args = ['--port', String(port), version, 'main'];
  await runOrFail(STEP, 'pg_createcluster', args, 'read the output above; `pg_lsclusters` shows what exists');
  progress(STEP, `created cluster ${version}/main on port ${port}`);
  return { version, name: 'main', port, status: 'down' };
}

/** Starts the local cluster when nothing listens on the URL's port, then makes sure the URL can log in. */
export async function ensurePostgres(url: URL): Promise<void> {
  const { host, port } = hostPort(url, 5432);
  if (await isListening(host, port)) {
    progress(STEP, `already listening on ${host}:${port}`);
  } else {
    if (!isLoopback(host)) {
      throw new StepError(
        STEP,
        `connect ${host}:${port}`,
        'nothing answers',
        'start that server, or fix AGENTPOD_DATABASE_URL',
      );
    }
    const cluster = await clusterFor(port);
    const args = ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'];
    if (!isRoot()) {
      throw new StepError(
        STEP,
        `pg_ctlcluster ${args.join(' ')}`,
        'not root',
        `run it as root: sudo pg_ctlcluster ${args.join(' ')}`,
      );
    }
    const logHint = `see /var/log/postgresql/postgresql-${cluster.version}-${cluster.name}.log`;
    await runOrFail(STEP, 'pg_ctlcluster', args, logHint);
    if (!(await waitFor(() => isListening(host, port), 20_000))) {
      throw new StepError(
        STEP,
        `pg_ctlcluster ${args.join(' ')}`,
        `nothing listens on ${host}:${port} after 20 s`,
        logHint,
      );
    }
    progress(STEP, `started cluster ${cluster.version}/${cluster.name} on ${host}:${port}`);
  }
  await ensureLogin(url);
}

async function ensureLogin(url: URL): Promise<void> {
  const admin = maintenanceUrl(url);
  let result = await psql(admin, ['-Atc', 'select current_user']);
  if (result.code !== 0) {
    const authProblem =
      /password authentication failed|no password supplied|no pg_hba\.conf entry|role ".*" does not exist/;
    const { host, port } = hostPort(url, 5432);
    if (!authProblem.test(result.stderr) || !isLoopback(host) || !isRoot()) {
      throw new StepError(
        STEP,
        `psql -d ${withoutPassword(admin)} -c 'select current_user'`,
        tail(result.stderr),
        'check the user and password in AGENTPOD_DATABASE_URL, or pg_hba.conf of that server',
      );
    }
    await fixLocalLogin(url, port);
    result = await psql(admin, ['-Atc', 'select current_user']);
    if (result.code !== 0) {
      throw new StepError(
        STEP,
        'psql … select current_user',
        tail(result.stderr),
        'check pg_hba.conf and the role in AGENTPOD_DATABASE_URL',
      );
    }
  }
  progress(STEP, `logged in as ${result.stdout.trim()}`);
}

/**
 * A fresh Debian cluster allows only peer logins on the socket and passwords over TCP, and role postgres has
 * no password. Development URLs have no password (postgres://postgres@127.0.0.1/agentpod), so allow
 * passwordless TCP logins from loopback; a URL with a password gets that password set on its role instead.
 */
async function fixLocalLogin(url: URL, port: number): Promise<void> {
  const cluster = (await clusters()).find((c) => c.port === port);
  if (!cluster)
    throw new StepError(STEP, 'pg_lsclusters', `no local cluster on port ${port}`, 'check AGENTPOD_DATABASE_URL');
  const role = roleOf(url);
  const password = decodeURIComponent(url.password);
  const script = [
    `SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec`,
    ...(password ? [`ALTER ROLE :"role" PASSWORD :'password';`] : []),
  ].join('\n');
  const asPostgres = [
    '-u',
    'postgres',
    '--',
    'psql',
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-p',
    String(port),
    '-d',
    'postgres',
  ];
  const variables = ['-v', `role=${role}`, ...(password ? ['-v', `password=${password}`] : []), '-f', '-'];
  await runOrFail(
    STEP,
    'runuser',
    [...asPostgres, ...variables],
    'run as root; the postgres OS user must be able to log in over the socket',
    {
      input: `${script}\n`,
    },
  );
  if (password) {
    progress(STEP, `set the password of role ${role} from AGENTPOD_DATABASE_URL`);
    return;
  }
  const hba = `/etc/postgresql/${cluster.version}/${cluster.name}/pg_hba.conf`;
  const text = readFileSync(hba, 'utf8');
  if (!/^host\s+all\s+all\s+127\.0\.0\.1\/32\s+trust/m.test(text)) {
    const lines = [
      '# Added by AgentPod (infra/scripts/postgres.ts): passwordless TCP logins from this machine, for development.',
      'host all all 127.0.0.1/32 trust',
      'host all all ::1/128 trust',
      '',
    ];
    // pg_hba.conf is read top to bottom and the first match wins, so the trust lines go first.
    writeFileSync(hba, `${lines.join('\n')}${text}`);
    await runOrFail(
      STEP,
      'pg_ctlcluster',
      ['--skip-systemctl-redirect', cluster.version, cluster.name, 'reload'],
      `check ${hba}`,
    );
  }
  progress(STEP, `allowed passwordless logins from 127.0.0.1 and ::1 (${hba}); role ${role} exists`);
}

/** Creates the database named in the URL when it does not exist. */
export async function ensureDatabase(url: URL): Promise<void> {
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return;
  const step = `database ${name}`;
  const admin = maintenanceUrl(url);
  const exists = await psql(
    admin,
    ['-At', '-v', `name=${name}`, '-f', '-'],
    `SELECT 1 FROM pg_database WHERE datname = :'name';\n`,
  );
  if (exists.code !== 0)
    throw new StepError(step, 'psql … select from pg_database', tail(exists.stderr), 'check AGENTPOD_DATABASE_URL');
  if (exists.stdout.trim() === '1') {
    progress(step, 'exists');
    return;
  }
  const created = await psql(
    admin,
    ['-v', `name=${name}`, '-f', '-'],
    `SELECT format('CREATE DATABASE %I', :'name') \\gexec\n`,
  );
  if (created.code !== 0) {
    throw new StepError(
      step,
      'psql … create database',
      tail(created.stderr),
      'the role in AGENTPOD_DATABASE_URL needs CREATEDB',
    );
  }
  progress(step, 'created');
}

import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { AppError, type DoctorCheck, type DoctorReport, worstStatus } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import type { ApiClient } from '../client.ts';
import { clean, EXIT, formatTable } from '../output.ts';

/*
 * `agentpod doctor`: what this machine can check itself (the gateway answers, Docker answers when its socket is
 * here), then the platform's own checks (`GET /system/doctor`: NATS, PostgreSQL, every service, the reconciler's
 * replicas, every node). Each check that is not ok says what to do.
 */

const DOCKER_SOCKET = '/var/run/docker.sock';
const DOCKER_TIMEOUT_MS = 3_000;

const check = (
  id: string,
  area: DoctorCheck['area'],
  status: DoctorCheck['status'],
  detail: string,
  hint: string | null = null,
): DoctorCheck => ({ id, area, status, detail, hint });

/** Docker's /version over its Unix socket: the engine's version, or why it did not answer. */
export function dockerVersion(socketPath: string, timeoutMs = DOCKER_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/version', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        try {
          const version = (JSON.parse(body) as { Version?: unknown }).Version;
          if (res.statusCode === 200 && typeof version === 'string') resolve(version);
          else reject(new Error(`answered ${res.statusCode ?? '?'} without a version`));
        } catch {
          reject(new Error(`answered ${res.statusCode ?? '?'} with something that is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function localDockerCheck(socketPath = DOCKER_SOCKET): Promise<DoctorCheck> {
  if (!existsSync(socketPath))
    return check('docker.local', 'docker', 'ok', `no Docker socket at ${socketPath}: this machine is not a node`);
  try {
    const version = await dockerVersion(socketPath);
    return check('docker.local', 'docker', 'ok', `Docker ${version} answers on ${socketPath}`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES')
      return check(
        'docker.local',
        'docker',
        'warn',
        `no permission to use ${socketPath} as this user`,
        'the agent runs as root and is not affected; to check Docker yourself, run this as root or join the docker group',
      );
    return check(
      'docker.local',
      'docker',
      'fail',
      `Docker does not answer on ${socketPath} (${(error as Error).message})`,
      'start it: systemctl start docker (or dockerd); the agent on this machine needs it to run pods',
    );
  }
}

async function gatewayCheck(client: ApiClient): Promise<DoctorCheck> {
  try {
    const response = await client.get('/healthz');
    await response.body?.cancel();
    return check('gateway.reachable', 'gateway', 'ok', `${client.baseUrl} answers (HTTP ${response.status})`);
  } catch (error) {
    return check(
      'gateway.reachable',
      'gateway',
      'fail',
      `cannot reach the gateway at ${client.baseUrl}: ${(error as Error).message}`,
      'start the control plane (npm start), or point AGENTPOD_URL at the gateway you use',
    );
  }
}

async function platformChecks(client: ApiClient): Promise<DoctorCheck[]> {
  if (!client.hasCredential)
    return [
      check(
        'platform',
        'gateway',
        'fail',
        'not signed in: the platform checks were not run',
        'agentpod login (as a platform admin), or set AGENTPOD_TOKEN',
      ),
    ];
  try {
    return (await client.call('doctor')).checks;
  } catch (error) {
    const body = error instanceof AppError ? error.toBody() : { code: 'internal', message: String(error) };
    const forbidden = body.code === 'forbidden' || body.code === 'unauthenticated';
    return [
      check(
        'platform',
        'gateway',
        'fail',
        `the platform checks could not run: ${body.message}`,
        forbidden
          ? 'they need a platform admin: agentpod login as one, or use an unscoped admin token'
          : "see the gateway's log; agentpod status shows which services answer",
      ),
    ];
  }
}

const MARK: Record<DoctorCheck['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

export function formatDoctor(report: DoctorReport): string {
  const table = formatTable(
    ['check', 'status', 'detail'],
    report.checks.map((c) => [c.id, MARK[c.status], c.detail]),
  );
  const todo = report.checks.filter((c) => c.status !== 'ok' && c.hint);
  const hints =
    todo.length === 0 ? '' : `\nwhat to do:\n${todo.map((c) => `  ${clean(c.id)}: ${clean(c.hint)}\n`).join('')}`;
  const failing = report.checks.filter((c) => c.status === 'fail').length;
  const warning = report.checks.filter((c) => c.status === 'warn').length;
  const verdict =
    failing + warning === 0
      ? 'everything checked is ok'
      : `${failing} failing, ${warning} warning${warning === 1 ? '' : 's'}`;
  return `${table}${hints}\n${verdict}\n`;
}

export const doctorCommand = defineCommand({
  path: ['doctor'],
  summary: 'Check the gateway, Docker here, NATS, PostgreSQL, every service and node; say what to do',
  details:
    'Local checks (the gateway answers; Docker answers when its socket is on this machine) need nothing; the\n' +
    "platform's checks need a platform admin. Exits 1 when a check fails (warnings alone exit 0).",
  async run(ctx) {
    const client = await ctx.client();
    const [gateway, docker] = await Promise.all([gatewayCheck(client), localDockerCheck()]);
    const platform = gateway.status === 'fail' ? [] : await platformChecks(client);
    const checks = [gateway, docker, ...platform];
    const report: DoctorReport = {
      at: new Date().toISOString(),
      status: worstStatus(checks.map((c) => c.status)),
      checks,
    };
    ctx.out.result(report, () => formatDoctor(report));
    return report.status === 'fail' ? EXIT.failure : EXIT.ok;
  },
});

import {
  type DoctorCheck,
  type DoctorReport,
  type NodeView,
  NodeView as NodeViewSchema,
  newId,
  querySubject,
  ReconcilerStats,
  systemActor,
  worstStatus,
} from '@agentpod/contracts';
import { AGENTPOD_VERSION, request } from '@agentpod/kit';
import { z } from 'zod';
import { platformHealth, type ServiceHealth } from '../health.ts';
import type { RouteHandlers } from './context.ts';

/*
 * `GET /system/doctor`: everything an operator would check by hand when something is off, each with what to do.
 * The gateway gathers the facts (its own NATS connection, every service's health query, the reconciler's replicas,
 * the nodes as the pods service knows them) and `doctorChecks` turns them into verdicts: a pure function, tested
 * on its own.
 */

const NATS_SLOW_MS = 100;
const POSTGRES_SLOW_MS = 250;
const ASK_MS = 2_000;

export type DoctorFacts = {
  now: Date;
  gatewayVersion: string;
  nats: { ok: true; rttMs: number; server: string } | { ok: false; error: string; server: string };
  services: Record<string, ServiceHealth>;
  reconciler: ReconcilerStats | { error: string };
  nodes: NodeView[] | { error: string };
};

const check = (
  id: string,
  area: DoctorCheck['area'],
  status: DoctorCheck['status'],
  detail: string,
  hint: string | null = null,
): DoctorCheck => ({ id, area, status, detail, hint });

const ms = (value: number) => `${Math.round(value * 10) / 10} ms`;

function ago(iso: string | null, now: Date): string {
  if (!iso) return 'never seen';
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (seconds < 120) return `last seen ${seconds}s ago`;
  if (seconds < 7_200) return `last seen ${Math.round(seconds / 60)}m ago`;
  return `last seen ${Math.round(seconds / 3_600)}h ago`;
}

function natsCheck(nats: DoctorFacts['nats']): DoctorCheck {
  if (!nats.ok)
    return check(
      'nats',
      'nats',
      'fail',
      `the gateway's NATS connection to ${nats.server} does not answer: ${nats.error}`,
      'check that nats-server runs (systemctl status nats-server, or docker compose ps nats) and that ' +
        'AGENTPOD_NATS_URL points at it; the gateway reconnects on its own',
    );
  if (nats.rttMs > NATS_SLOW_MS)
    return check(
      'nats',
      'nats',
      'warn',
      `connected to ${nats.server}, round trip ${ms(nats.rttMs)}`,
      'NATS answers slowly: check the load of the NATS host and the network between it and the gateway',
    );
  return check('nats', 'nats', 'ok', `connected to ${nats.server}, round trip ${ms(nats.rttMs)}`);
}

function serviceCheck(name: string, health: ServiceHealth, gatewayVersion: string): DoctorCheck {
  const id = `service.${name}`;
  if (health.status === 'unreachable')
    return check(
      id,
      'service',
      'fail',
      `${name} does not answer its health query (${health.error})`,
      `start the ${name} service (npm start runs every service; with compose: docker compose up -d ${name}); ` +
        'if it keeps stopping, its log says why',
    );
  const failing = Object.entries(health.dependencies).filter(([, dependency]) => !dependency.ok);
  const summary = `version ${health.version}, instance ${health.instanceId.slice(0, 8)}, up ${health.uptimeSeconds}s`;
  if (failing.length > 0) {
    const what = failing.map(([dependency, d]) => `${dependency}: ${d.error ?? 'failing'}`).join('; ');
    const postgres = failing.some(([dependency]) => dependency === 'postgres');
    return check(
      id,
      'service',
      'fail',
      `${name} answers but is degraded (${what})`,
      postgres
        ? `PostgreSQL does not answer ${name}: check that it runs (pg_lsclusters, systemctl status postgresql) and ` +
            'that AGENTPOD_DATABASE_URL is right'
        : `${name} lost a dependency; its log says which, and it reconnects on its own`,
    );
  }
  if (health.version !== gatewayVersion)
    return check(
      id,
      'service',
      'warn',
      `${summary}; the gateway runs ${gatewayVersion}`,
      `restart ${name} so that every part runs the same version`,
    );
  return check(id, 'service', 'ok', summary);
}

function postgresCheck(services: Record<string, ServiceHealth>): DoctorCheck {
  const reports = Object.values(services).flatMap((health) =>
    health.status === 'unreachable' || !health.dependencies.postgres ? [] : [health.dependencies.postgres],
  );
  if (reports.length === 0)
    return check(
      'postgres',
      'postgres',
      'warn',
      'not checked: no service answered',
      'start the services first; each one checks PostgreSQL in its health report',
    );
  const failing = reports.filter((report) => !report.ok);
  if (failing.length > 0)
    return check(
      'postgres',
      'postgres',
      'fail',
      `${failing.length} of ${reports.length} services cannot reach PostgreSQL (${failing[0]?.error ?? 'no answer'})`,
      'check that PostgreSQL runs (pg_lsclusters, systemctl status postgresql) and that AGENTPOD_DATABASE_URL ' +
        'names the right host, port, user and database',
    );
  const slowest = Math.max(...reports.map((report) => report.latencyMs ?? 0));
  if (slowest > POSTGRES_SLOW_MS)
    return check(
      'postgres',
      'postgres',
      'warn',
      `answers every service, slowest ${ms(slowest)}`,
      'PostgreSQL answers slowly: check its load (pg_stat_activity) and the disk it writes to',
    );
  return check('postgres', 'postgres', 'ok', `answers every service, slowest ${ms(slowest)}`);
}

function reconcilerCheck(stats: DoctorFacts['reconciler']): DoctorCheck {
  if ('error' in stats)
    return check(
      'reconciler.replicas',
      'reconciler',
      'fail',
      `the reconciler did not report its replicas (${stats.error})`,
      'start the reconciler: without it crashed pods are not restarted and new pods are not created',
    );
  const { replicas, shardCount, unheld } = stats;
  if (replicas.length === 0)
    return check(
      'reconciler.replicas',
      'reconciler',
      'fail',
      'no reconciler replica is live',
      'start the reconciler service',
    );
  const split = replicas.map((replica) => replica.shards.length).join(' + ');
  const lastPass = replicas.map((replica) => replica.lastPassMs).filter((value): value is number => value !== null);
  const passes = lastPass.length > 0 ? `; last pass ${ms(Math.max(...lastPass))}` : '';
  const detail = `${replicas.length} replica${replicas.length === 1 ? '' : 's'}, ${shardCount} shards (${split})${passes}`;
  if (unheld.length > 0)
    return check(
      'reconciler.replicas',
      'reconciler',
      'warn',
      `${detail}; shards ${unheld.join(', ')} are held by no replica`,
      'a replica may be starting or stopping (they are taken within a few seconds); if this lasts, check the ' +
        "reconciler's log and that every replica has the same AGENTPOD_RECONCILE_SHARDS",
    );
  return check('reconciler.replicas', 'reconciler', 'ok', detail);
}

function nodeChecks(nodes: DoctorFacts['nodes'], now: Date): DoctorCheck[] {
  if ('error' in nodes)
    return [
      check(
        'nodes',
        'node',
        'fail',
        `could not list the nodes (${nodes.error})`,
        'the pods service keeps the node registry: see its check above',
      ),
    ];
  const live = nodes.filter((node) => node.status !== 'removed');
  if (live.length === 0)
    return [
      check(
        'nodes',
        'node',
        'warn',
        'no nodes: pods have nowhere to run',
        'add a server with agentpod node add <name> and run the command it prints on that server',
      ),
    ];
  return live
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((node) => {
      const id = `node.${node.name}`;
      const seen = ago(node.lastSeenAt, now);
      const host = node.facts?.hostname ?? node.name;
      if (node.status === 'pending')
        return check(
          id,
          'node',
          'warn',
          `${node.name} has never joined`,
          `run the install command on the server; a new one: agentpod node join-token ${node.name}`,
        );
      if (node.status !== 'online')
        return check(
          id,
          'node',
          'fail',
          `${node.name} is ${node.status} (${seen}); its ${node.pods} pods are left as they are`,
          `on ${host}: systemctl status agentpod-agent (or agentpod-agent status); its log says why it cannot ` +
            'reach the gateway',
        );
      const docker = node.facts?.dockerVersion;
      if (!docker)
        return check(
          id,
          'node',
          'warn',
          `${node.name} is online (${seen}) but its agent cannot reach Docker`,
          `on ${host}: systemctl status docker, and check that the agent may use the Docker socket`,
        );
      const agent = node.facts?.agentVersion ? `, agent ${node.facts.agentVersion}` : '';
      return check(id, 'node', 'ok', `${node.name} is online (${seen}), Docker ${docker}${agent}, ${node.pods} pods`);
    });
}

/** The verdicts, in the order an operator reads them: transport, database, services, reconciler, nodes. */
export function doctorChecks(facts: DoctorFacts): DoctorCheck[] {
  const services = Object.entries(facts.services).sort(([a], [b]) => a.localeCompare(b));
  return [
    check('gateway', 'gateway', 'ok', `version ${facts.gatewayVersion}, answering`),
    natsCheck(facts.nats),
    postgresCheck(facts.services),
    ...services.map(([name, health]) => serviceCheck(name, health, facts.gatewayVersion)),
    reconcilerCheck(facts.reconciler),
    ...nodeChecks(facts.nodes, facts.now),
  ];
}

export function doctorReport(facts: DoctorFacts): DoctorReport {
  const checks = doctorChecks(facts);
  return { at: facts.now.toISOString(), status: worstStatus(checks.map((c) => c.status)), checks };
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

export const systemHandlers: Pick<RouteHandlers, 'doctor'> = {
  async doctor({ deps, call }) {
    const { nc } = deps;
    const server = nc.getServer();
    const meta = { actor: systemActor('gateway'), correlationId: newId() };
    const [nats, services, reconciler, nodes] = await Promise.all([
      nc.rtt().then(
        (rttMs): DoctorFacts['nats'] => ({ ok: true, rttMs, server }),
        (error: unknown): DoctorFacts['nats'] => ({ ok: false, error: reason(error), server }),
      ),
      platformHealth(nc, ASK_MS).then((health) => health.services),
      request(nc, querySubject('reconciler', 'stats'), {}, meta, { timeoutMs: ASK_MS }).then(
        (answer) => ReconcilerStats.parse(answer),
        (error: unknown) => ({ error: reason(error) }),
      ),
      // As the caller (a platform admin sees every node).
      call(querySubject('pods', 'listNodes'), {}, { timeoutMs: ASK_MS }).then(
        (answer) => z.object({ nodes: z.array(NodeViewSchema) }).parse(answer).nodes,
        (error: unknown) => ({ error: reason(error) }),
      ),
    ]);
    return doctorReport({ now: new Date(), gatewayVersion: AGENTPOD_VERSION, nats, services, reconciler, nodes });
  },
};

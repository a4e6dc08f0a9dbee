import { AggregateId } from './ids.ts';

/** Bounded contexts that own an event stream. */
export const CONTEXTS = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai', 'agent'] as const;
export type Context = (typeof CONTEXTS)[number];

/** Every process that answers a health query. */
export const SERVICES = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

const NAME = /^[a-z][a-zA-Z0-9-]{0,63}$/;

function token(value: string, what: string): string {
  if (!AggregateId.safeParse(value).success) throw new Error(`${what} "${value}" is not a valid subject token`);
  return value;
}

function name(value: string, what: string): string {
  if (!NAME.test(value)) throw new Error(`${what} "${value}" must match ${NAME}`);
  return value;
}

/** JetStream stream of a context, e.g. `PODS`. */
export const streamName = (context: Context): string => context.toUpperCase();

/** All event subjects of a context: the stream's subject filter. */
export const eventSubjects = (context: Context): string => `${context}.evt.>`;

/** The subject of one aggregate's events: `<context>.evt.<aggregateId>`. */
export const eventSubject = (context: Context, aggregateId: string): string =>
  `${context}.evt.${token(aggregateId, 'aggregate id')}`;

/** The aggregate id carried by an event subject, or undefined for another subject. */
export function aggregateIdOf(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 3 && parts[1] === 'evt' ? parts[2] : undefined;
}

export const commandSubject = (context: Context, command: string): string =>
  `${context}.cmd.${name(command, 'command name')}`;

export const querySubject = (context: Context | ServiceName, query: string): string =>
  `${context}.qry.${name(query, 'query name')}`;

/** The health query of a service. */
export const healthSubject = (service: ServiceName): string => querySubject(service, 'health');

/** Subjects of one node's agent. A node's credential may use `agent.<nodeId>.>` and nothing else. */
export const agentSubjects = {
  all: (nodeId: string) => `agent.${token(nodeId, 'node id')}.>`,
  command: (nodeId: string, op: string) => `agent.${token(nodeId, 'node id')}.cmd.${name(op, 'agent op')}`,
  /** Every operation of one node: what the gateway holding its socket subscribes to. */
  commands: (nodeId: string) => `agent.${token(nodeId, 'node id')}.cmd.>`,
  /** The op name of a command subject, or undefined when the subject is not one of this node's commands. */
  opOf: (nodeId: string, subject: string): string | undefined => {
    const prefix = `agent.${token(nodeId, 'node id')}.cmd.`;
    const op = subject.startsWith(prefix) ? subject.slice(prefix.length) : '';
    return NAME.test(op) ? op : undefined;
  },
  metrics: (nodeId: string) => `agent.${token(nodeId, 'node id')}.metrics`,
  /** Every node's metrics (MetricsMessage): what the monitor consumes, in its queue group. */
  allMetrics: 'agent.*.metrics',
  /** Core NATS, every few seconds while the node's socket is open (not stored). */
  heartbeat: (nodeId: string) => `agent.${token(nodeId, 'node id')}.heartbeat`,
  /** Every node's heartbeats. */
  allHeartbeats: 'agent.*.heartbeat',
  session: (nodeId: string, sessionId: string, direction: 'in' | 'out') =>
    `agent.${token(nodeId, 'node id')}.session.${token(sessionId, 'session id')}.${direction}`,
  /** Every session input of one node: what the gateway holding its socket forwards to it. */
  sessionsIn: (nodeId: string) => `agent.${token(nodeId, 'node id')}.session.*.in`,
};

/** The node id of a heartbeat or session subject (`agent.<nodeId>.…`), or undefined. */
export function nodeIdOf(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts[0] === 'agent' && parts[1] !== undefined && parts[1] !== 'evt' ? parts[1] : undefined;
}

/**
 * Core NATS broadcasts between services, not stored: every instance that cares subscribes (no queue group).
 * `nodeRevoked` carries `{ nodeId }`: every gateway drops that node's socket at once.
 */
export const controlSubjects = {
  nodeRevoked: 'control.node.revoked',
} as const;

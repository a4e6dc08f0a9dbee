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
  observations: (nodeId: string) => `agent.${token(nodeId, 'node id')}.obs`,
  metrics: (nodeId: string) => `agent.${token(nodeId, 'node id')}.metrics`,
  session: (nodeId: string, sessionId: string, direction: 'in' | 'out') =>
    `agent.${token(nodeId, 'node id')}.session.${token(sessionId, 'session id')}.${direction}`,
};

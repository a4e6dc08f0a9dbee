import {
  type AgentOp,
  AgentOps,
  AppError,
  agentEvents,
  agentSubjects,
  MAX_REQUEST_BYTES,
  type ObservedContainer,
} from '@agentpod/contracts';
import {
  type AggregatePosition,
  EMPTY_POSITION,
  type EventStore,
  type Logger,
  parseRequest,
  toErrorBody,
} from '@agentpod/kit';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { z } from 'zod';
// Test-only: the agent's real Docker runtime and health prober, by path (the agent package exports neither).
import { HealthProber } from '../../../../agent/src/health/prober.ts';
import type { DockerRuntime } from '../../../../agent/src/runtime/index.ts';

/*
 * One node's agent as the reconciler meets it, without the gateway in between: a real NATS peer serving
 * `agent.<nodeId>.cmd.<op>` with the agent's real DockerRuntime, publishing heartbeats, probing health checks with
 * the agent's real HealthProber, and appending AGENT observations (NodeConnected, InventoryReported,
 * ContainerChanged, HealthChanged) the way the gateway appends them for a node. Every container it reports
 * carries the prober's verdict, as the agent's do. It sees only the containers `owns` accepts, so tests sharing
 * this machine's Docker never see each other's.
 */

export type Owns = (container: { tenantId: string; podId: string }) => boolean;

export class EmulatedAgent {
  readonly nodeId: string;
  /** Every operation asked of this node, in order. */
  readonly operations: AgentOp[] = [];
  readonly #nc: NatsConnection;
  readonly #store: EventStore;
  readonly #runtime: DockerRuntime;
  readonly #owns: Owns;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #position: AggregatePosition = EMPTY_POSITION;
  #appending: Promise<unknown> = Promise.resolve();
  #subscription: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #events: Promise<void> | undefined;
  readonly #prober: HealthProber;

  constructor(options: {
    nc: NatsConnection;
    store: EventStore;
    runtime: DockerRuntime;
    nodeId: string;
    owns: Owns;
    logger: Logger;
  }) {
    this.nodeId = options.nodeId;
    this.#nc = options.nc;
    this.#store = options.store;
    this.#runtime = options.runtime;
    this.#owns = options.owns;
    this.#logger = options.logger;
    this.#prober = new HealthProber({
      logger: options.logger,
      emit: (change) =>
        void this.#append('HealthChanged', change).catch((error: unknown) =>
          this.#logger.error({ err: error }, 'could not append a health verdict'),
        ),
    });
  }

  /** Connects: serves operations, follows the engine's events, reports its inventory, starts heartbeating. */
  async start(): Promise<void> {
    this.#subscription = this.#nc.subscribe(agentSubjects.commands(this.nodeId));
    void (async () => {
      for await (const msg of this.#subscription ?? []) void this.#serve(msg);
    })();
    this.#events = this.#follow();
    await this.#append('NodeConnected', {
      facts: {
        hostname: 'emulated',
        os: 'linux',
        arch: 'x64',
        cpus: 2,
        memoryBytes: 4 << 30,
        diskBytes: 0,
        diskFreeBytes: 0,
        dockerVersion: null,
        agentVersion: 'test',
      },
      gatewayInstance: 'test',
    });
    await this.reportInventory();
    const beat = () => this.#nc.publish(agentSubjects.heartbeat(this.nodeId), JSON.stringify({ at: new Date() }));
    beat();
    this.#heartbeat = setInterval(beat, 1_000);
  }

  async stop(): Promise<void> {
    this.#prober.stop();
    clearInterval(this.#heartbeat);
    this.#subscription?.unsubscribe();
    this.#abort.abort();
    await this.#events?.catch(() => {});
    await this.#appending.catch(() => {});
  }

  /** Appends the node's full inventory, as the agent sends it on (re)connect and after a burst of changes. */
  reportInventory(): Promise<void> {
    return this.#append('InventoryReported', async () => ({ containers: await this.#inventory() }));
  }

  async #inventory(): Promise<ObservedContainer[]> {
    const containers = (await this.#runtime.list()).filter((c) => this.#owns(c));
    this.#prober.sync(containers);
    return containers.map((c) => this.#probed(c));
  }

  /** The container with the prober's verdict on its current run, as the agent reports every container. */
  #probed(container: ObservedContainer): ObservedContainer {
    return { ...container, health: this.#prober.healthOf(container) };
  }

  async #serve(msg: Msg): Promise<void> {
    let reply: unknown;
    try {
      const op = agentSubjects.opOf(this.nodeId, msg.subject);
      if (!op || !Object.hasOwn(AgentOps, op)) throw new AppError('invalid', `no operation ${msg.subject}`);
      const name = op as AgentOp;
      this.operations.push(name);
      const { data } = parseRequest(msg.data, AgentOps[name].input as z.ZodType<unknown>, MAX_REQUEST_BYTES);
      reply = { ok: true, result: await this.#run(name, data) };
    } catch (error) {
      reply = { ok: false, error: toErrorBody(error, 'emulated-agent') };
    }
    // Like the agent, which reports after a burst: the reconciler learns the result even if an engine event is late.
    await this.reportInventory().catch((error: unknown) => this.#logger.error({ err: error }, 'inventory failed'));
    msg.respond(JSON.stringify(reply));
  }

  async #run(op: AgentOp, input: unknown): Promise<unknown> {
    const runtime = this.#runtime;
    switch (op) {
      case 'createContainer': {
        const { spec } = input as z.infer<(typeof AgentOps)['createContainer']['input']>;
        if (!this.#owns(spec)) throw new AppError('forbidden', 'not a container of this emulated node');
        const created = await runtime.create(spec);
        return { containerId: created.id, created: created.created };
      }
      case 'startContainer':
        await runtime.start(await this.#mine(input));
        return {};
      case 'stopContainer': {
        const { timeoutSeconds } = input as { timeoutSeconds: number };
        await runtime.stop(await this.#mine(input), { timeoutSeconds });
        return {};
      }
      case 'restartContainer':
        await runtime.restart(await this.#mine(input));
        return {};
      case 'removeContainer': {
        const { volume } = input as { volume?: string };
        await runtime.remove(await this.#mine(input));
        if (volume) await runtime.removeVolume(volume);
        return {};
      }
      case 'removeVolume':
        await runtime.removeVolume((input as { name: string }).name);
        return {};
      case 'inventory':
        return { containers: await this.#inventory() };
      case 'facts':
      case 'logs':
      case 'discoverContainers':
      case 'describeContainer':
      case 'adoptContainer':
      case 'terminalOpen':
      case 'fileList':
      case 'fileStat':
      case 'fileDownload':
      case 'fileUpload':
      case 'fileMkdir':
      case 'fileMove':
      case 'fileDelete':
      case 'fileChmod':
        throw new AppError('invalid', `${op} is not served by the emulated agent`);
      default: {
        const unknown: never = op;
        throw new AppError('invalid', `unknown operation ${String(unknown)}`);
      }
    }
  }

  /** The container id of an operation, refused unless it is one of this node's (a missing one passes through). */
  async #mine(input: unknown): Promise<string> {
    const { containerId } = input as { containerId: string };
    const found = await this.#runtime.inspect(containerId);
    if (found && !this.#owns(found)) throw new AppError('forbidden', 'not a container of this emulated node');
    return containerId;
  }

  /** The engine's container events, as ContainerChanged with the container's state after the change. */
  async #follow(): Promise<void> {
    try {
      for await (const event of this.#runtime.events({ signal: this.#abort.signal })) {
        if (!this.#owns(event)) continue;
        await this.#append('ContainerChanged', async () => {
          const container = event.action === 'destroy' ? null : await this.#runtime.inspect(event.id);
          this.#prober.observe(event.id, container);
          return {
            action: event.action,
            containerId: event.id,
            tenantId: event.tenantId,
            podId: event.podId,
            generation: event.generation,
            exitCode: event.exitCode,
            container: container && this.#probed(container),
          };
        });
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#logger.error({ err: error }, 'docker events ended');
    }
  }

  /**
   * Appends one observation to `agent.evt.<nodeId>`, one at a time: the data is computed when its turn comes, so
   * what is appended later never describes an older state than what came before.
   */
  #append<K extends keyof typeof agentEvents>(
    type: K,
    data: z.input<(typeof agentEvents)[K]> | (() => Promise<z.input<(typeof agentEvents)[K]>>),
  ): Promise<void> {
    const next = this.#appending.then(async () => {
      const value = typeof data === 'function' ? await data() : data;
      const { position } = await this.#store.append(
        'agent',
        this.nodeId,
        [{ type, data: agentEvents[type].parse(value) }],
        {
          expected: this.#position,
          meta: { actor: { kind: 'node', id: this.nodeId }, correlationId: crypto.randomUUID() },
          now: new Date(),
        },
      );
      this.#position = position;
    });
    this.#appending = next.catch(() => {});
    return next;
  }
}

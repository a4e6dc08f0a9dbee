import { randomBytes, randomUUID } from 'node:crypto';
import {
  AGENT_HEARTBEAT_SECONDS,
  type AgentFrame,
  type AgentOp,
  AgentOps,
  type ContainerSpec,
  containerName,
  GatewayFrame,
  type NodeFacts,
  type ObservedContainer,
  PodLabels,
  podRef,
} from '@agentpod/contracts';
import WebSocket from 'ws';

/*
 * A node's agent without Docker, for fleets larger than one machine can run: it speaks the real agent protocol
 * to a real gateway (WebSocket `/agent`, the node's real credential, `hello` with facts and inventory, `hb` every
 * 3 s, `obs` frames, `res` answers to every operation) and keeps its containers in memory. A container it is asked
 * to create and start simply runs; it reports what the real agent reports: a ContainerChanged per state change and
 * a fresh inventory once a burst of changes settles (500 ms quiet, 5 s at most), as agent/src/observe does.
 */

const GiB = 1024 ** 3;
const SETTLE_MS = 500;
const MAX_WAIT_MS = 5_000;

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

export class SimulatedAgent {
  readonly nodeId: string;
  readonly #url: string;
  readonly #credential: string;
  readonly #name: string;
  readonly #containers = new Map<string, ObservedContainer>();
  /** Operations answered, by name. */
  readonly ops = new Map<string, number>();
  #socket: WebSocket | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #burstStarted: number | undefined;
  #closed = false;

  constructor(options: { gatewayUrl: string; nodeId: string; credential: string; name: string }) {
    this.#url = `${options.gatewayUrl.replace(/^http/, 'ws')}/agent`;
    this.nodeId = options.nodeId;
    this.#credential = options.credential;
    this.#name = options.name;
  }

  /** Containers running now. */
  get running(): number {
    let count = 0;
    for (const container of this.#containers.values()) if (container.state === 'running') count++;
    return count;
  }

  /** Opens the socket and says hello; resolves once it is open. Heartbeats start, staggered over the interval. */
  connect(): Promise<void> {
    const socket = new WebSocket(this.#url, {
      headers: { authorization: `Bearer ${this.#credential}` },
      perMessageDeflate: false,
    });
    this.#socket = socket;
    socket.on('message', (data) => this.#onFrame(String(data)));
    socket.on('close', () => {
      clearInterval(this.#heartbeat);
      if (!this.#closed) process.stderr.write(`simulated agent ${this.#name}: the gateway closed the socket\n`);
    });
    return new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`${this.#name}: the gateway answered ${response.statusCode} instead of a WebSocket`)),
      );
      socket.once('error', reject);
      socket.once('open', () => {
        this.#send({ t: 'hello', facts: this.#facts(), containers: [...this.#containers.values()] });
        const beat = () => this.#send({ t: 'hb', at: new Date().toISOString() });
        setTimeout(
          () => {
            if (this.#closed) return;
            beat();
            this.#heartbeat = setInterval(beat, AGENT_HEARTBEAT_SECONDS * 1_000);
          },
          Math.random() * AGENT_HEARTBEAT_SECONDS * 1_000,
        );
        resolve();
      });
    });
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#settle);
    this.#socket?.close(1000, 'benchmark over');
  }

  #facts(): NodeFacts {
    return {
      hostname: this.#name,
      os: 'linux',
      arch: 'x64',
      cpus: 64,
      memoryBytes: 512 * GiB,
      diskBytes: 2_000 * GiB,
      diskFreeBytes: 1_500 * GiB,
      dockerVersion: '27.0.0-simulated',
      agentVersion: 'simulated',
    };
  }

  #send(frame: AgentFrame): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(frame));
  }

  #onFrame(text: string): void {
    const frame = GatewayFrame.safeParse(JSON.parse(text));
    if (!frame.success || frame.data.t !== 'req') return;
    const { id, op, body } = frame.data;
    let reply: Reply;
    try {
      if (!Object.hasOwn(AgentOps, op)) throw new Error(`unknown operation ${op}`);
      const { data } = JSON.parse(body) as { data: unknown };
      const input = AgentOps[op as AgentOp].input.parse(data);
      reply = { ok: true, result: this.#run(op as AgentOp, input) };
      this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
    } catch (error) {
      reply = { ok: false, error: { code: 'invalid', message: (error as Error).message } };
    }
    this.#send({ t: 'res', id, reply: JSON.stringify(reply) });
  }

  #run(op: AgentOp, input: unknown): unknown {
    switch (op) {
      case 'facts':
        return this.#facts();
      case 'inventory':
        return { containers: [...this.#containers.values()] };
      case 'createContainer':
        return this.#create((input as { spec: ContainerSpec }).spec);
      case 'startContainer':
        this.#start(this.#get(input));
        return {};
      case 'restartContainer':
        this.#start({ ...this.#get(input), state: 'exited' });
        return {};
      case 'stopContainer':
        this.#stop(this.#get(input), 0);
        return {};
      case 'removeContainer': {
        const { containerId } = input as { containerId: string };
        const container = this.#containers.get(containerId);
        if (container) {
          this.#containers.delete(containerId);
          this.#changed('destroy', container, null);
        }
        return {};
      }
      case 'removeVolume':
        return {};
      case 'logs':
        return { lines: [] };
      default:
        throw new Error(`operation ${op} is not simulated`);
    }
  }

  #get(input: unknown): ObservedContainer {
    const { containerId } = input as { containerId: string };
    const container = this.#containers.get(containerId);
    if (!container) throw new Error(`no container ${containerId}`);
    return container;
  }

  /**
   * Containers this node runs already when it connects (a fleet that ran on while its control plane was away):
   * the pods' current generation, running; `hello` reports them.
   */
  runAlready(pods: readonly Pick<ContainerSpec, 'tenantId' | 'podId' | 'generation' | 'image'>[]): void {
    for (const pod of pods) {
      const { containerId } = this.#create(pod);
      const container = this.#containers.get(containerId);
      if (container) this.#containers.set(containerId, { ...container, ...this.#runningState() });
    }
    clearTimeout(this.#settle);
    this.#burstStarted = undefined;
  }

  #runningState() {
    return {
      state: 'running' as const,
      pid: 10_000 + Math.floor(Math.random() * 1_000_000),
      exitCode: null,
      startedAt: new Date().toISOString(),
    };
  }

  #create(
    spec: Pick<ContainerSpec, 'tenantId' | 'podId' | 'generation' | 'image'> &
      Partial<Pick<ContainerSpec, 'labels' | 'ports' | 'volume'>>,
  ): { containerId: string; created: boolean } {
    const name = containerName(spec.tenantId, spec.podId, spec.generation);
    for (const container of this.#containers.values()) {
      if (container.name === name) return { containerId: container.id, created: false };
    }
    const labels = {
      ...spec.labels,
      [PodLabels.pod]: podRef(spec.tenantId, spec.podId),
      [PodLabels.tenant]: spec.tenantId,
      [PodLabels.generation]: String(spec.generation),
      [PodLabels.node]: this.nodeId,
    };
    const container: ObservedContainer = {
      id: randomBytes(32).toString('hex'),
      name,
      tenantId: spec.tenantId,
      podId: spec.podId,
      generation: spec.generation,
      image: spec.image,
      imageId: `sha256:${randomBytes(32).toString('hex')}`,
      state: 'created',
      pid: null,
      exitCode: null,
      oomKilled: false,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      restartCount: 0,
      ports: (spec.ports ?? []).map((port) => ({ ...port })),
      health: null,
      volume: spec.volume?.name ?? null,
      labels,
    };
    this.#containers.set(container.id, container);
    this.#burst();
    return { containerId: container.id, created: true };
  }

  /** Like Docker's start of a running container (304): nothing happens. */
  #start(container: ObservedContainer): void {
    if (container.state === 'running') return;
    const started: ObservedContainer = { ...container, ...this.#runningState() };
    this.#containers.set(container.id, started);
    this.#changed('start', started, started);
  }

  #stop(container: ObservedContainer, exitCode: number): void {
    const stopped: ObservedContainer = {
      ...container,
      state: 'exited',
      pid: null,
      exitCode,
      finishedAt: new Date().toISOString(),
    };
    this.#containers.set(container.id, stopped);
    this.#changed('die', stopped, stopped);
  }

  #changed(action: 'start' | 'die' | 'destroy', about: ObservedContainer, container: ObservedContainer | null): void {
    this.#send({
      t: 'obs',
      id: randomUUID(),
      type: 'ContainerChanged',
      data: {
        action,
        containerId: about.id,
        tenantId: about.tenantId,
        podId: about.podId,
        generation: about.generation,
        exitCode: action === 'die' ? about.exitCode : null,
        container,
      },
    });
    this.#burst();
  }

  /** The inventory goes out once changes have been quiet for 500 ms, or 5 s after the first of a burst. */
  #burst(): void {
    const now = performance.now();
    this.#burstStarted ??= now;
    clearTimeout(this.#settle);
    const wait = Math.min(SETTLE_MS, Math.max(0, this.#burstStarted + MAX_WAIT_MS - now));
    this.#settle = setTimeout(() => {
      this.#burstStarted = undefined;
      this.#send({
        t: 'obs',
        id: randomUUID(),
        type: 'InventoryReported',
        data: { containers: [...this.#containers.values()] },
      });
    }, wait);
  }
}

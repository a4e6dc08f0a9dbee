import { createHash, randomUUID } from 'node:crypto';
import {
  AppError,
  type Context,
  type EventEnvelope,
  effectiveRole,
  LIVE_CLOSE,
  type LiveMessage,
  MembershipsResult,
  PodView,
  Principal,
  querySubject,
  type RequestMeta,
  systemActor,
} from '@agentpod/contracts';
import { type Logger, request } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import { canSee, effectsOf, type PodKey, redacted, type Scope } from './effects.ts';
import type { LiveHub } from './hub.ts';

/*
 * One open console: it hears every new event from the hub, keeps those of its user's tenants, and pushes fresh
 * pod views (asked of the pods service as the user, so access is decided there too), changed node ids and the
 * events themselves. A pod's view is fetched shortly after its events and once more a second later, because
 * the pods service's read model may not have applied the event yet when the gateway hears it; a view identical
 * to the last one pushed is not sent again. The credential is checked again periodically: a session that ended
 * closes the socket.
 */

/** The socket as the session uses it (the `ws` WebSocket). */
export type LiveSocket = {
  readyState: number;
  bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  ping(): void;
  terminate(): void;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'pong', listener: () => void): unknown;
  on(event: 'message', listener: () => void): unknown;
};

export type LiveSessionOptions = {
  nc: NatsConnection;
  logger: Logger;
  hub: LiveHub;
  socket: LiveSocket;
  principal: Principal;
  /** The session cookie's token, to authenticate again. */
  credential: string;
  /** How often the credential and the memberships are checked again. */
  recheckMs: number;
  /** Send every pod the user may see with `ready` (the console's first view of them, without a gap). */
  withPods?: boolean;
  /** Application keep-alive and protocol ping period. */
  pingMs?: number;
};

const OPEN = 1;
/** Pushed views are fetched this long after the first event of a burst, collecting the rest of the burst. */
const TICK_MS = 120;
/** Then once more, for a read model that had not applied the event yet. */
const SETTLE_MS = 1_000;
/** More changed pods than this in one tick: one list query instead of a query per pod. */
const LIST_ABOVE = 20;
const IN_FLIGHT = 8;
/** A console that lets this much pile up unread is closed; it reconnects and reloads. */
const MAX_BUFFERED = 4 * 1024 * 1024;

const keyOf = (pod: PodKey) => `${pod.tenantId}/${pod.podId}`;
const digest = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).digest('base64');
/**
 * The pods of a `listPods` answer. Only their keys are checked: the list is passed through from the pods service
 * (whose replies the gateway trusts), and validating a thousand views field by field would hold the gateway's
 * event loop for tens of milliseconds on every console that connects.
 */
function podsOf(answer: unknown): PodView[] {
  const pods = (answer as { pods?: unknown } | null)?.pods;
  if (!Array.isArray(pods)) throw new AppError('internal', 'listPods answered without a list of pods');
  for (const pod of pods) {
    const { tenantId, podId } = (pod ?? {}) as { tenantId?: unknown; podId?: unknown };
    if (typeof tenantId !== 'string' || typeof podId !== 'string') {
      throw new AppError('internal', 'listPods answered a pod without tenantId and podId');
    }
  }
  return pods as PodView[];
}

export class LiveSession {
  readonly #o: LiveSessionOptions;
  #principal: Principal;
  #scope: Scope = new Set();
  #unsubscribe: (() => void) | undefined;
  readonly #dirty = new Map<string, PodKey>();
  readonly #settle = new Map<string, { pod: PodKey; due: number }>();
  readonly #nodes = new Set<string>();
  /** Digest of the last view pushed per pod. */
  readonly #sent = new Map<string, string>();
  #tick: NodeJS.Timeout | undefined;
  #busy = false;
  readonly #timers: NodeJS.Timeout[] = [];
  #alive = true;
  #closed = false;

  constructor(options: LiveSessionOptions) {
    this.#o = options;
    this.#principal = options.principal;
  }

  async start(): Promise<void> {
    const { socket } = this.#o;
    socket.on('close', () => this.close());
    socket.on('pong', () => {
      this.#alive = true;
    });
    // The console sends nothing; anything it does send is ignored (the socket's payload limit still applies).
    socket.on('message', () => undefined);
    this.#scope = await this.#scopeOf(this.#principal);
    const unsubscribe = await this.#o.hub.subscribe((envelope, context) => this.#onEvent(envelope, context));
    if (this.#closed) return unsubscribe();
    this.#unsubscribe = unsubscribe;
    const pods = this.#o.withPods ? await this.#initialPods() : null;
    // Closed while the pods were being read (the console went, or the gateway is stopping): no timers, or
    // they would run for ever and keep the process alive.
    if (this.#closed) return;
    this.#send({ type: 'ready', platformAdmin: this.#principal.platformAdmin, tenants: this.#tenants(), pods });
    const ping = setInterval(() => this.#ping(), this.#o.pingMs ?? 15_000);
    const recheck = setInterval(() => void this.#recheck(), this.#o.recheckMs);
    this.#timers.push(ping, recheck);
  }

  close(code?: number, reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    clearTimeout(this.#tick);
    for (const timer of this.#timers) clearInterval(timer);
    if (code !== undefined && this.#o.socket.readyState === OPEN) this.#o.socket.close(code, reason);
  }

  /**
   * Every pod the user may see; null when the pods service cannot say. Not digested: the first push of a pod
   * after an event may repeat what this list said, which costs less than hashing a thousand views per connect.
   */
  async #initialPods(): Promise<PodView[] | null> {
    try {
      return podsOf(await this.#ask('listPods', {}));
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'could not list pods for a console; it loads them itself');
      return null;
    }
  }

  #tenants(): string[] | 'all' {
    return this.#scope === 'all' ? 'all' : [...this.#scope].sort();
  }

  #meta(): RequestMeta {
    return {
      actor: { kind: 'user', id: this.#principal.userId },
      correlationId: randomUUID(),
      principal: this.#principal,
    };
  }

  async #scopeOf(principal: Principal): Promise<Scope> {
    if (principal.platformAdmin) return 'all';
    const answer = MembershipsResult.parse(
      await request(this.#o.nc, querySubject('tenants', 'memberships'), { userId: principal.userId }, this.#meta()),
    );
    return new Set(
      answer.memberships
        .filter(({ tenantId, role }) => effectiveRole(principal, tenantId, role) !== undefined)
        .map(({ tenantId }) => tenantId),
    );
  }

  #send(message: LiveMessage): void {
    const { socket } = this.#o;
    if (this.#closed || socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED) this.close(LIVE_CLOSE.behind, 'the console fell behind');
    else socket.send(JSON.stringify(message));
  }

  #ping(): void {
    if (!this.#alive) {
      this.close();
      this.#o.socket.terminate();
      return;
    }
    this.#alive = false;
    this.#o.socket.ping();
    this.#send({ type: 'ping' });
  }

  async #recheck(): Promise<void> {
    const meta: RequestMeta = { actor: systemActor('gateway'), correlationId: randomUUID() };
    try {
      const answer = await request(
        this.#o.nc,
        querySubject('identity', 'authenticate'),
        { credential: this.#o.credential },
        meta,
      );
      this.#principal = Principal.parse(answer);
      await this.#rescope();
    } catch (error) {
      if (error instanceof AppError && error.code === 'unauthenticated') {
        return this.close(LIVE_CLOSE.signedOut, 'the session ended');
      }
      // A slow or briefly absent identity service must not cut every console off; the next check decides.
      this.#o.logger.warn({ err: error }, 'could not re-check a live console session');
    }
  }

  async #rescope(): Promise<void> {
    const before = JSON.stringify(this.#tenants());
    this.#scope = await this.#scopeOf(this.#principal);
    const tenants = this.#tenants();
    if (JSON.stringify(tenants) !== before) this.#send({ type: 'scope', tenants });
  }

  #onEvent(envelope: EventEnvelope, context: Context): void {
    if (this.#closed) return;
    const effects = effectsOf(envelope, context);
    if (effects.forward && canSee(this.#scope, envelope.tenantId)) {
      this.#send({ type: 'event', context, event: redacted(envelope) });
    }
    for (const pod of effects.pods) if (canSee(this.#scope, pod.tenantId)) this.#dirty.set(keyOf(pod), pod);
    // A node's events name its tenant only when it is a tenant's own node; the pool's are for platform admins.
    if (canSee(this.#scope, envelope.tenantId)) for (const node of effects.nodes) this.#nodes.add(node);
    if (effects.rescope) {
      this.#rescope().catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not re-read tenants'));
    }
    this.#schedule(TICK_MS);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#tick) return;
    this.#tick = setTimeout(() => {
      this.#tick = undefined;
      void this.#flush();
    }, delayMs);
  }

  /** Pushes what changed since the last flush; schedules itself again while work remains. */
  async #flush(): Promise<void> {
    if (this.#busy) return this.#schedule(TICK_MS);
    this.#busy = true;
    try {
      const now = Date.now();
      for (const [key, { pod, due }] of this.#settle) {
        if (due <= now) {
          this.#settle.delete(key);
          this.#dirty.set(key, pod);
        }
      }
      if (this.#nodes.size > 0) {
        this.#send({ type: 'nodes', nodeIds: [...this.#nodes] });
        this.#nodes.clear();
      }
      const batch = [...this.#dirty.values()];
      this.#dirty.clear();
      if (batch.length > 0) await this.#pushPods(batch);
      for (const pod of batch) this.#settle.set(keyOf(pod), { pod, due: now + SETTLE_MS });
    } finally {
      this.#busy = false;
    }
    const next = Math.min(...[...this.#settle.values()].map((entry) => entry.due));
    if (this.#dirty.size > 0 || this.#nodes.size > 0) this.#schedule(TICK_MS);
    else if (Number.isFinite(next)) this.#schedule(Math.max(TICK_MS, next - Date.now()));
  }

  async #pushPods(batch: PodKey[]): Promise<void> {
    const pods: PodView[] = [];
    const removed: PodKey[] = [];
    const seen = (view: PodView) => {
      const key = keyOf(view);
      const hash = digest(view);
      if (this.#sent.get(key) !== hash) {
        this.#sent.set(key, hash);
        pods.push(view);
      }
    };
    const gone = (pod: PodKey) => {
      if (this.#sent.get(keyOf(pod)) === 'removed') return;
      this.#sent.set(keyOf(pod), 'removed');
      removed.push(pod);
    };
    if (batch.length > LIST_ABOVE) {
      let answer: { pods: PodView[] };
      try {
        answer = { pods: podsOf(await this.#ask('listPods', {})) };
      } catch (error) {
        // Nothing is known to be gone; the settle pass asks again.
        return this.#o.logger.debug({ err: error }, 'could not list pods for a console');
      }
      const byKey = new Map(answer.pods.map((view) => [keyOf(view), view]));
      for (const pod of batch) {
        const view = byKey.get(keyOf(pod));
        if (view) seen(view);
        else gone(pod);
      }
    } else {
      for (let i = 0; i < batch.length; i += IN_FLIGHT) {
        await Promise.all(
          batch.slice(i, i + IN_FLIGHT).map(async (pod) => {
            try {
              seen(PodView.parse(await this.#ask('getPod', pod)));
            } catch (error) {
              if (error instanceof AppError && error.code === 'not_found') gone(pod);
              else this.#o.logger.debug({ err: error, pod }, 'could not fetch a pod view for a console');
            }
          }),
        );
      }
    }
    if (pods.length > 0 || removed.length > 0) this.#send({ type: 'pods', pods, removed });
  }

  #ask(query: 'getPod' | 'listPods', data: unknown): Promise<unknown> {
    const tenantId = (data as { tenantId?: string }).tenantId;
    return request(this.#o.nc, querySubject('pods', query), data, {
      ...this.#meta(),
      ...(tenantId ? { tenantId } : {}),
    });
  }
}

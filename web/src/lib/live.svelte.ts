import { LIVE_CLOSE, type LiveMessage } from '@agentpod/contracts';

export type { LiveMessage };

import { connection } from './connection.svelte.ts';

/*
 * The live socket (`/console/live`, services/gateway/src/console): the gateway pushes fresh pod views, changed
 * node ids and new events of the user's tenants. The socket reconnects with backoff when it closes; while it is
 * down the control plane counts as unreachable, and every `ready` after a reconnect tells the pages to reload
 * what they show (changes made meanwhile were not pushed). `ready` carries every pod the user may see, read by
 * the gateway after it subscribed: the pods list needs no request of its own and no change can fall in between.
 */

/** The gateway pings every 15 s: this long without a word means the connection is dead. */
const SILENCE_MS = 40_000;
const MAX_BACKOFF_MS = 10_000;

type Listener = (message: LiveMessage) => void;

class Live {
  /** idle: not started; connecting; open: subscribed (after `ready`); closed: waiting to reconnect. */
  status = $state<'idle' | 'connecting' | 'open' | 'closed'>('idle');
  /** Readies received: 1 after the first connection, more after each reconnect. */
  generation = $state(0);
  #socket: WebSocket | undefined;
  readonly #listeners = new Set<Listener>();
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #waiters: (() => void)[] = [];
  #onSignedOut: () => void = () => undefined;

  start(onSignedOut: () => void): void {
    this.#onSignedOut = onSignedOut;
    if (this.status !== 'idle') return;
    this.#connect();
    this.#watchdog = setInterval(() => {
      if (this.status === 'open' && Date.now() - this.#lastHeard > SILENCE_MS) this.#socket?.close();
    }, 5_000);
  }

  stop(): void {
    clearTimeout(this.#retry);
    clearInterval(this.#watchdog);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000);
    this.status = 'idle';
  }

  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves at the next `ready` (at once when open), or after `timeoutMs` whatever happens. */
  whenReady(timeoutMs = 1_500): Promise<void> {
    if (this.status === 'open') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Try again now (after a request found the control plane again, say). */
  reconnectSoon(): void {
    if (this.status !== 'closed') return;
    clearTimeout(this.#retry);
    this.#connect();
  }

  #connect(): void {
    this.status = 'connecting';
    const url = new URL('/console/live?pods=1', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#lastHeard = Date.now();
      let message: LiveMessage;
      try {
        message = JSON.parse(String(event.data)) as LiveMessage;
      } catch {
        return;
      }
      if (message.type === 'ready') {
        if (this.generation === 0) performance.mark('agentpod:live-ready');
        this.#attempt = 0;
        this.status = 'open';
        this.generation += 1;
        connection.reachableAgain();
        for (const waiter of this.#waiters.splice(0)) waiter();
      }
      for (const listener of this.#listeners) listener(message);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (event.code === LIVE_CLOSE.signedOut) {
        this.stop();
        this.#onSignedOut();
        return;
      }
      this.status = 'closed';
      connection.unreachable();
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#attempt) * (0.75 + Math.random() / 2);
      this.#attempt += 1;
      this.#retry = setTimeout(() => this.#connect(), delay);
    };
  }
}

export const live = new Live();

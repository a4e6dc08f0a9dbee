import type { PodView } from '@agentpod/contracts';
import { api } from './api.ts';
import { live } from './live.svelte.ts';

/*
 * Every pod the user may see, kept current by the live socket: its `ready` brings the whole list (on every
 * reconnect too, so pushes missed while it was down do not matter), each pushed view replaces the one held and
 * removed pods go. REST is the fallback when the socket does not come up.
 */

const keyOf = (pod: { tenantId: string; podId: string }) => `${pod.tenantId}/${pod.podId}`;
const collator = new Intl.Collator('en', { numeric: true });
const byName = (a: PodView, b: PodView) =>
  collator.compare(a.tenantId, b.tenantId) || collator.compare(a.podId, b.podId);

class Pods {
  list = $state.raw<PodView[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  readonly #byKey = new Map<string, PodView>();
  #loading: Promise<void> | undefined;

  constructor() {
    live.on((message) => {
      if (message.type === 'ready') {
        // Every (re)connect brings the whole list, read after the subscription: changes made meanwhile included.
        if (message.pods) this.#replace(message.pods);
        else if (this.#loading) void this.reload();
      }
      if (message.type === 'pods') this.#apply(message.pods, message.removed);
      if (message.type === 'scope') void this.reload();
    });
  }

  /** Reactive: whoever reads it is updated when the list changes. */
  get(tenantId: string, podId: string): PodView | undefined {
    void this.list;
    return this.#byKey.get(keyOf({ tenantId, podId }));
  }

  /**
   * Resolves once the list is there: from the live socket's `ready`, or over REST when the socket does not come
   * up in time (then after it is subscribed whenever possible, so no change can fall between the two).
   */
  ensure(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.#loading ??= live.whenReady().then(() => (this.loaded ? undefined : this.reload()));
    return this.#loading;
  }

  async reload(): Promise<void> {
    try {
      const { pods } = await api<{ pods: PodView[] }>('GET', '/pods');
      this.#replace(pods);
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  /** Signed out: nothing of the previous user's stays in memory. */
  forget(): void {
    this.#byKey.clear();
    this.list = [];
    this.loaded = false;
    this.#loading = undefined;
  }

  /** A view the console fetched or changed itself (a create, an action's answer). */
  put(pod: PodView): void {
    this.#apply([pod], []);
  }

  remove(tenantId: string, podId: string): void {
    this.#apply([], [{ tenantId, podId }]);
  }

  #replace(pods: PodView[]): void {
    this.#byKey.clear();
    for (const pod of pods) this.#byKey.set(keyOf(pod), pod);
    this.list = [...pods].sort(byName);
    this.loaded = true;
    this.error = null;
  }

  #apply(pods: PodView[], removed: { tenantId: string; podId: string }[]): void {
    for (const pod of pods) {
      const held = this.#byKey.get(keyOf(pod));
      // Views carry their update time: an older answer never replaces a newer push.
      if (held && Date.parse(held.updatedAt) > Date.parse(pod.updatedAt)) continue;
      this.#byKey.set(keyOf(pod), pod);
    }
    for (const pod of removed) this.#byKey.delete(keyOf(pod));
    this.list = [...this.#byKey.values()].sort(byName);
  }
}

export const pods = new Pods();

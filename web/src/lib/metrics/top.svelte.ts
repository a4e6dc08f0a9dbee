import type { TopRow } from '@agentpod/contracts';
import { api } from '../api.ts';

/*
 * The latest CPU and memory of every pod the user can see (`GET /api/v1/top`, what `agentpod top` prints), for
 * the pods list. Polled every 10 s — the agents sample every 10 s, so pushing it would not be fresher — and only
 * while some component follows it and the tab is visible. A monitor that cannot answer leaves the cells empty.
 */

const REFRESH_MS = 10_000;

class PodUsage {
  rows = $state<Map<string, TopRow>>(new Map());
  #followers = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  of(tenantId: string, podId: string): TopRow | undefined {
    return this.rows.get(`${tenantId}/${podId}`);
  }

  /** Starts polling for as long as the returned function is not called. */
  follow(): () => void {
    this.#followers += 1;
    if (this.#followers === 1) {
      void this.#load();
      this.#timer = setInterval(() => {
        if (document.visibilityState === 'visible') void this.#load();
      }, REFRESH_MS);
    }
    return () => {
      this.#followers -= 1;
      if (this.#followers === 0) clearInterval(this.#timer);
    };
  }

  async #load(): Promise<void> {
    try {
      const { rows } = await api<{ rows: TopRow[] }>('GET', '/top');
      this.rows = new Map(rows.filter((row) => row.kind === 'pod').map((row) => [`${row.tenantId}/${row.podId}`, row]));
    } catch {
      // No monitor (or no samples yet): the cells say "—".
    }
  }
}

export const podUsage = new PodUsage();

import type { EventEnvelope } from '@agentpod/contracts';
import { error } from '@sveltejs/kit';
import { ApiError, api } from '../../../../lib/api.ts';
import { podAggregate } from '../../../../lib/format.ts';

export async function load({ params, fetch }) {
  const { tenant, pod } = params;
  try {
    const { events } = await api<{ events: EventEnvelope[] }>('GET', '/events', {
      fetch,
      query: { aggregate: podAggregate(tenant, pod), limit: 200 },
    });
    return { tenantId: tenant, podId: pod, events };
  } catch (cause) {
    if (cause instanceof ApiError && (cause.status === 404 || cause.status === 400))
      error(404, `No pod ${tenant}/${pod}`);
    throw cause;
  }
}

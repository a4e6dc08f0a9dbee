import { type EnvelopeOf, type EventEnvelope, podEvents, type RestartPolicy } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Transaction } from 'kysely';
import { announceChange } from '../changes.ts';
import type { ReconcilerDb } from '../db.ts';

/*
 * PODS → `desired_pods`: what the operator wants of each pod. Only the Pod aggregates' events
 * (`pods.evt.pod_<tenant>_<pod>`) matter here; the Node aggregates' placement and port events are the pods
 * service's business, and a removed node's pods simply wait (its agent can no longer connect).
 */

type PodEvent = EnvelopeOf<typeof podEvents>;
type Tx = Transaction<ReconcilerDb>;
type PodKey = { tenantId: string; podId: string };

const SLUG = '[a-z][a-z0-9-]{1,30}[a-z0-9]';
const POD_AGGREGATE = new RegExp(`^pod_(${SLUG})_(${SLUG})$`);

/** The pod an aggregate id names (`pod_<tenant>_<pod>`; `_` never occurs in a slug), or undefined. */
export function podOfAggregate(aggregateId: string): PodKey | undefined {
  const match = POD_AGGREGATE.exec(aggregateId);
  return match?.[1] && match[2] ? { tenantId: match[1], podId: match[2] } : undefined;
}

/** An envelope as a pod event, or undefined for a Node event or a type this version does not know (skipped). */
function asPodEvent(envelope: EventEnvelope): PodEvent | undefined {
  const schema = podEvents[envelope.type as keyof typeof podEvents];
  const data = schema?.safeParse(envelope.data);
  return data?.success ? ({ ...envelope, data: data.data } as PodEvent) : undefined;
}

/** A pod as created or adopted: running, at its first generation, replacing any tombstone under its id. */
async function record(
  tx: Tx,
  pod: PodKey,
  at: string,
  data: {
    nodeId: string;
    generation: number;
    spec: { restart: RestartPolicy; image: string };
    volumeName: string | null;
  },
): Promise<void> {
  const values = {
    node_id: data.nodeId,
    generation: data.generation,
    desired: 'running' as const,
    restart_policy: data.spec.restart,
    image: data.spec.image,
    volume_name: data.volumeName,
    restart_request: null,
    deleted: false,
    keep_volume: false,
    deletion_event: null,
    created_at: at,
    updated_at: at,
  };
  await tx
    .insertInto('desired_pods')
    .values({ tenant_id: pod.tenantId, pod_id: pod.podId, ...values })
    .onConflict((c) => c.columns(['tenant_id', 'pod_id']).doUpdateSet(values))
    .execute();
}

async function applyOne(tx: Tx, pod: PodKey, event: PodEvent): Promise<void> {
  const at = event.occurredAt;
  const row = tx.updateTable('desired_pods').where('tenant_id', '=', pod.tenantId).where('pod_id', '=', pod.podId);
  switch (event.type) {
    case 'PodCreated':
      // A pod created again under the id of a deleted one replaces the tombstone.
      await record(tx, pod, at, event.data);
      return;
    case 'PodAdopted':
      // A running container taken over, desired as it runs. Its volumes and binds were the operator's before
      // AgentPod knew the pod, so none of them is AgentPod's to remove on deletion.
      await record(tx, pod, at, { ...event.data, volumeName: null });
      return;
    case 'PodUpdated':
      // A new generation is a new container, which is a restart in itself: a standing request is moot.
      await row
        .set({
          generation: event.data.generation,
          image: event.data.spec.image,
          restart_policy: event.data.spec.restart,
          restart_request: null,
          updated_at: at,
        })
        .execute();
      return;
    case 'PodAccessTokenRotated':
      await row.set({ generation: event.data.generation, restart_request: null, updated_at: at }).execute();
      return;
    case 'PodStopped':
      await row.set({ desired: 'stopped', restart_request: null, updated_at: at }).execute();
      return;
    case 'PodStarted':
      await row.set({ desired: 'running', updated_at: at }).execute();
      return;
    case 'PodRestartRequested':
      // The event's own id, not its restartId: the reconciler's outcome names it as its causation.
      await row.set({ restart_request: event.id, updated_at: at }).execute();
      return;
    case 'PodDeleted':
      await row
        .set({
          deleted: true,
          keep_volume: event.data.keepVolume,
          deletion_event: event.id,
          restart_request: null,
          updated_at: at,
        })
        .execute();
      return;
    default: {
      const unknown: never = event;
      throw new Error(`unhandled pod event ${(unknown as PodEvent).type}`);
    }
  }
}

export const desiredProjection: Projection<ReconcilerDb> = {
  name: 'desired_pods',
  context: 'pods',
  async apply(tx, events) {
    let changed = false;
    for (const { envelope } of events) {
      const event = asPodEvent(envelope);
      const pod = podOfAggregate(envelope.aggregateId);
      if (!event || !pod) continue;
      await applyOne(tx, pod, event);
      changed = true;
    }
    if (changed) await announceChange(tx, 'desired');
  },
};

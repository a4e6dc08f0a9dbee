import type { EventEnvelope } from '@agentpod/contracts';

/* A pod's events (PODS: what people asked; RECONCILER: what was done about it) as one line each, for people. */

type Data = Record<string, unknown>;
const str = (value: unknown) => (typeof value === 'string' ? value : '');

export function describe(event: EventEnvelope): string {
  const data = (event.data ?? {}) as Data;
  const recovery = data.recovery as { reason?: string; attempt?: number } | null | undefined;
  const healing = recovery
    ? ` (recovery #${recovery.attempt} after ${recovery.reason === 'crash' ? 'a crash' : 'a failed health check'})`
    : '';
  switch (event.type) {
    case 'PodCreated':
      return `created (generation ${data.generation})`;
    case 'PodUpdated':
      return `changed: generation ${data.generation} (${str((data.spec as Data | undefined)?.image)})`;
    case 'PodStopped':
      return 'stop requested';
    case 'PodStarted':
      return 'start requested';
    case 'PodRestartRequested':
      return 'restart requested';
    case 'PodAccessTokenRotated':
      return `access token rotated (generation ${data.generation})`;
    case 'PodDeleted':
      return data.keepVolume ? 'deleted (volume kept)' : 'deleted';
    case 'PodAdopted':
      return 'adopted a running container';
    case 'PodActionSucceeded':
      return `${str(data.action)} done${healing}`;
    case 'PodActionFailed':
      return `${str(data.action)} failed: ${str((data.error as Data | undefined)?.message)}${healing}`;
    case 'PodFailing':
      return `failing: ${str(data.summary)}`;
    case 'PodRecovered':
      return 'recovered';
    default:
      return event.type;
  }
}

export function actorOf(event: EventEnvelope): string {
  const actor = event.actor as { kind: string; id: string; onBehalfOf?: string };
  if (actor.kind === 'system') return actor.id;
  if (actor.kind === 'token') return `token ${actor.id}${actor.onBehalfOf ? ` of ${actor.onBehalfOf}` : ''}`;
  return `${actor.kind} ${actor.id}`;
}

export const severity = (event: EventEnvelope): 'ok' | 'warn' | 'bad' | 'idle' =>
  event.type === 'PodActionFailed' || event.type === 'PodFailing'
    ? 'bad'
    : event.type === 'PodRecovered' || (event.type === 'PodActionSucceeded' && !(event.data as Data)?.recovery)
      ? 'ok'
      : event.type === 'PodActionSucceeded'
        ? 'warn'
        : 'idle';

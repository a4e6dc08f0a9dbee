import type { ContainerState, ReconcileAction, RestartPolicy } from '@agentpod/contracts';
import { z } from 'zod';

/*
 * What the planner reads and what it returns. The inputs are plain values loaded from the reconciler's own
 * read models (desired pods, observed containers, its action history) plus the nodes that are online now; the
 * output is a list of actions, at most one per pod, that the applier turns into agent operations.
 * The action schema also types the answer of `reconciler.qry.plan` (it belongs in contracts once a client uses it).
 */

/** One pod as the operator wants it, from the PODS stream. */
export type DesiredPod = {
  tenantId: string;
  podId: string;
  /** Where it is placed; it never moves on its own. */
  nodeId: string;
  /** Bumped by every update; a container of another generation is outdated. */
  generation: number;
  desired: 'running' | 'stopped';
  restartPolicy: RestartPolicy;
  /** Id of the latest PodRestartRequested event while one stands (cleared by stop, update, deletion). */
  restartRequest: string | null;
  /** Set once deleted: the PodDeleted event's id and whether the volume stays. */
  deletion: { eventId: string; keepVolume: boolean } | null;
  volumeName: string | null;
};

/** One AgentPod-labelled container as its node last reported it (the subset the planner needs). */
export type SeenContainer = {
  nodeId: string;
  containerId: string;
  /** From the container's labels, as written: a container made by hand may carry odd ones. */
  tenantId: string;
  podId: string;
  generation: number;
  state: ContainerState;
  exitCode: number | null;
};

/** What the reconciler did to a pod before, from its own RECONCILER events. */
export type PodHistory = {
  last: { action: ReconcileAction; generation: number; ok: boolean; at: Date } | null;
  /** Failed actions in a row, 0 after a success (issue 5's exponential backoff counts from this). */
  failures: number;
  /** The restart request (event id) the pod's process already reflects: a later start carries it on. */
  restartHonoured: string | null;
  /** The deletion (event id) whose clean-up finished, volume included. */
  removalDone: string | null;
};

export const NO_HISTORY: PodHistory = { last: null, failures: 0, restartHonoured: null, removalDone: null };

/** Knobs of the planner; issue 5 adds the backoff curve here. */
export type PlanPolicy = {
  /** A failed action is not tried again on the same generation before this much time has passed. */
  retryDelayMs: number;
};

const target = {
  tenantId: z.string(),
  podId: z.string(),
  nodeId: z.string(),
  /** The pod's generation (an orphan's: its container's). */
  generation: z.number().int().nonnegative(),
};
/** The event an action carries out (a restart request, a deletion): recorded as its outcome's causation id. */
const cause = z.string().nullable();

/** One step the reconciler takes on one pod, on one node. */
export const PlannedAction = z.discriminatedUnion('kind', [
  /** Ask the pods service for the container spec, create the container, start it. */
  z.object({ kind: z.literal('create'), ...target, cause }),
  /** Remove the outdated containers, then create and start the current generation's. */
  z.object({ kind: z.literal('recreate'), ...target, remove: z.array(z.string()), cause }),
  z.object({ kind: z.literal('start'), ...target, containerId: z.string(), cause }),
  z.object({ kind: z.literal('stop'), ...target, containerId: z.string(), cause }),
  z.object({ kind: z.literal('restart'), ...target, containerId: z.string(), cause }),
  /** Remove containers and, when `volume` is set, the pod's volume after them. */
  z.object({ kind: z.literal('remove'), ...target, remove: z.array(z.string()), volume: z.string().nullable(), cause }),
  /** Remove labelled containers of a pod that does not exist; their volume is kept (data is never guessed away). */
  z.object({ kind: z.literal('removeOrphan'), ...target, remove: z.array(z.string()), cause }),
]);
export type PlannedAction = z.infer<typeof PlannedAction>;
export type ActionKind = PlannedAction['kind'];

/** Kinds that (re)start the pod's process: their success honours the restart request they carry as cause. */
export const STARTS_PROCESS: ReadonlySet<ReconcileAction> = new Set(['create', 'recreate', 'start', 'restart']);

/** Every planned kind is a ReconcileAction of the contract (checked here by the compiler), so it can be recorded. */
export const recordedAction = (kind: ActionKind): ReconcileAction => kind;

/** The key actions are unique by: the pod (for an orphan, the pod its labels name, valid or not). */
export const podKey = (tenantId: string, podId: string): string => `${tenantId}/${podId}`;
export const actionKey = (action: PlannedAction): string => podKey(action.tenantId, action.podId);

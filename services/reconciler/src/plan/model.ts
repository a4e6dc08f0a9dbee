import type {
  ContainerState,
  PlannedAction,
  PlannedActionKind,
  ProbeHealth,
  ReconcileAction,
  RecoveryReason,
  RestartPolicy,
} from '@agentpod/contracts';

/*
 * What the planner reads and what it returns. The inputs are plain values loaded from the reconciler's own
 * read models (desired pods, observed containers, its action history) plus the nodes that are online now; the
 * output is a list of actions, at most one per pod, that the applier turns into agent operations (or, for the
 * marks, into PodFailing / PodRecovered), and the pods it holds back for now.
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
  /** Start of the current (or last) run, by the node's clock; null if it never ran. */
  startedAt: Date | null;
  /** End of the last run, by the node's clock; a running container keeps its previous run's end here. */
  finishedAt: Date | null;
  /** The agent's probe verdict on the current run; null without a health check or while not running. */
  health: ProbeHealth | null;
  /** The failed probe's reason behind an `unhealthy` verdict. */
  healthError: string | null;
  /** When the control plane recorded the latest observation of this container (its own clock). */
  observedAt: Date;
};

/** What the reconciler did to a pod before, from its own RECONCILER events. */
export type PodHistory = {
  last: {
    action: ReconcileAction;
    generation: number;
    ok: boolean;
    at: Date;
    /** The failure's message (Docker's own, usually). */
    error: string | null;
    /** Whether the action was a recovery (a start or restart healing a crash or a failed health check). */
    recovery: boolean;
  } | null;
  /** Failed actions in a row, 0 after a success: failed actions back off on the crash curve. */
  failures: number;
  /**
   * The latest recovery of the current streak (succeeded or not), until PodRecovered ends the streak. The next
   * crash continues it (attempt + 1) unless the crashed run lasted the reset period.
   */
  recovery: { reason: RecoveryReason; attempt: number; at: Date } | null;
  /** Set by PodFailing, cleared by PodRecovered: the generation that was failing and since when. */
  failing: { generation: number; since: Date } | null;
  /** The restart request (event id) the pod's process already reflects: a later start carries it on. */
  restartHonoured: string | null;
  /** The deletion (event id) whose clean-up finished, volume included. */
  removalDone: string | null;
};

export const NO_HISTORY: PodHistory = {
  last: null,
  failures: 0,
  recovery: null,
  failing: null,
  restartHonoured: null,
  removalDone: null,
};

/** The planner's knobs (`policyFrom(env)`): the crash backoff curve and when a pod counts as failing. */
export type PlanPolicy = {
  /** The wait before the second recovery in a row (and the first retry of a failed action); doubled each time. */
  backoffBaseMs: number;
  /** The longest wait. */
  backoffCapMs: number;
  /** A run that lasted this long (healthy) starts the crash count from zero; a failing pod this long healthy recovers. */
  resetAfterMs: number;
  /** Failed recoveries (or failed actions) in a row after which the pod is marked failing. */
  failingAfter: number;
  /**
   * How long after a successful (re)start an older observation showing the pod down is taken for one that
   * predates the start (the agent's report is on its way), rather than for a new crash.
   */
  observeGraceMs: number;
};

/** The planner's output lives in contracts (the CLI's `reconcile --dry-run` and the console show it). */
export { PlannedAction, PlanWait } from '@agentpod/contracts';
export type ActionKind = PlannedActionKind;
/** Kinds that are only recorded (PodFailing / PodRecovered): no agent operation, no ReconcileAction. */
export type MarkKind = 'markFailing' | 'markRecovered';
/** Kinds carried out on the node, each recorded as a ReconcileAction. */
export type AgentActionKind = Exclude<ActionKind, MarkKind>;
export type AgentAction = Extract<PlannedAction, { kind: AgentActionKind }>;
export const isMark = (action: PlannedAction): action is Extract<PlannedAction, { kind: MarkKind }> =>
  action.kind === 'markFailing' || action.kind === 'markRecovered';

/** Kinds that (re)start the pod's process: their success honours the restart request they carry as cause. */
export const STARTS_PROCESS: ReadonlySet<ReconcileAction> = new Set(['create', 'recreate', 'start', 'restart']);

/** Every agent action's kind is a ReconcileAction of the contract (checked here by the compiler), so it can be recorded. */
export const recordedAction = (kind: AgentActionKind): ReconcileAction => kind;

/** The key actions are unique by: the pod (for an orphan, the pod its labels name, valid or not). */
export const podKey = (tenantId: string, podId: string): string => `${tenantId}/${podId}`;
export const actionKey = (action: PlannedAction): string => podKey(action.tenantId, action.podId);

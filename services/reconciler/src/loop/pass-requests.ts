import {
  PlannedAction,
  PlanWait,
  ReconcileActionOutcome,
  type ReconcileResult,
  ReplicaPass,
  TenantId,
} from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { z } from 'zod';
import type { PassReport, StartedAction } from './reconcile-loop.ts';

/*
 * `reconciler.cmd.reconcile` reaches one replica (queue group); each replica acts only on its own shards, so that
 * one asks them all on core NATS (`reconciler.control.pass`, no queue group, a reply inbox) to run a pass now. Each
 * answers once the actions its pass started have ended (or the wait is up), and the asking replica merges the
 * answers, waiting for as many as it knows live replicas.
 */

export const PASS_SUBJECT = 'reconciler.control.pass';

const PassRequest = z.object({
  tenantId: TenantId.optional(),
  /** How long a replica waits for the outcomes of the actions its pass started. */
  waitMs: z.number().int().min(0).max(120_000),
});
type PassRequest = z.infer<typeof PassRequest>;

const ReplicaAnswer = ReplicaPass.extend({
  actions: z.array(z.object({ action: PlannedAction, outcome: ReconcileActionOutcome })),
  waits: z.array(PlanWait),
});
type ReplicaAnswer = z.infer<typeof ReplicaAnswer>;

/** The outcomes of `started` that are known within `waitMs`; the others as pending. */
export async function settleWithin(
  started: readonly StartedAction[],
  waitMs: number,
): Promise<{ action: PlannedAction; outcome: ReconcileActionOutcome }[]> {
  const known = new Map<StartedAction, ReconcileActionOutcome>();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([
    Promise.all(started.map((item) => item.outcome.then((outcome) => known.set(item, outcome)))),
    deadline,
  ]);
  clearTimeout(timer);
  return started.map((item) => ({ action: item.action, outcome: known.get(item) ?? { result: 'pending' } }));
}

const ofTenant = (tenantId: string | undefined) => (item: { tenantId: string }) =>
  tenantId === undefined || item.tenantId === tenantId;

async function answer(report: PassReport, request: PassRequest): Promise<ReplicaAnswer> {
  const mine = ofTenant(request.tenantId);
  const actions = await settleWithin(
    report.started.filter((item) => mine(item.action)),
    request.waitMs,
  );
  return {
    instanceId: report.instanceId,
    shards: report.shards,
    durationMs: report.durationMs,
    skipped: report.skipped,
    actions,
    waits: report.waits.filter(mine),
  };
}

/** Every replica: runs a pass when asked and answers what it started and how that ended. */
export function answerPassRequests(
  nc: NatsConnection,
  passNow: () => Promise<PassReport>,
  logger: Logger,
): Subscription {
  const subscription = nc.subscribe(PASS_SUBJECT);
  void (async () => {
    for await (const message of subscription) {
      void (async () => {
        const request = PassRequest.safeParse(message.json());
        if (!request.success || !message.reply) {
          logger.warn({ subject: message.subject }, 'ignoring a malformed request for a reconcile pass');
          return;
        }
        const reply = await answer(await passNow(), request.data);
        message.respond(JSON.stringify(reply));
      })().catch((error: unknown) => logger.error({ err: error }, 'could not answer a request for a pass'));
    }
  })();
  return subscription;
}

/** Asks every replica for a pass now and merges their answers (`expected`: the live replicas known). */
export async function requestPasses(
  nc: NatsConnection,
  options: { tenantId?: string; expected: number; waitMs: number; now: () => Date; logger: Logger },
): Promise<ReconcileResult> {
  const { tenantId, expected, waitMs, logger } = options;
  const inbox = createInbox();
  const subscription = nc.subscribe(inbox);
  const answers: ReplicaAnswer[] = [];
  const timer = setTimeout(() => subscription.unsubscribe(), waitMs + 5_000);
  const request: PassRequest = { ...(tenantId ? { tenantId } : {}), waitMs };
  nc.publish(PASS_SUBJECT, JSON.stringify(request), { reply: inbox });
  for await (const message of subscription) {
    const parsed = ReplicaAnswer.safeParse(message.json());
    if (!parsed.success) {
      logger.warn('a replica answered a pass request with something unreadable');
      continue;
    }
    answers.push(parsed.data);
    if (answers.length >= expected) break;
  }
  clearTimeout(timer);
  subscription.unsubscribe();
  answers.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  return {
    at: options.now().toISOString(),
    replicas: answers.map(({ instanceId, shards, durationMs, skipped }) => ({
      instanceId,
      shards,
      durationMs,
      skipped,
    })),
    actions: answers.flatMap((replica) =>
      replica.actions.map(({ action, outcome }) => ({ action, instanceId: replica.instanceId, outcome })),
    ),
    waits: answers.flatMap((replica) => replica.waits),
  };
}

import {
  AppError,
  type PlannedAction,
  type PlanWait,
  type ReconcileActionOutcome,
  type ReconcilePlanResult,
  type ReconcileResult,
} from '@agentpod/contracts';
import { z } from 'zod';
import { defineCommand, usageError } from '../args.ts';
import type { ApiClient } from '../client.ts';
import type { Context } from '../context.ts';
import { clean, EXIT, formatTable, formatTime } from '../output.ts';

/*
 * `agentpod reconcile`: what the reconciler would change (--dry-run), one pass now and what it did (--once), or a
 * pass now and then every action the reconcilers take, as it happens, until Ctrl-C (the default). Platform admins.
 */

const LABELS = { tenant: '--tenant' };
/** The reconciler waits about 20 s for the actions of the pass; the gateway answers within 30 s. */
const PASS_TIMEOUT_MS = 40_000;

/** What one action does, in a few words: the recovery it makes, the containers it removes, the summary of a mark. */
export function actionDetail(action: PlannedAction): string {
  switch (action.kind) {
    case 'start':
    case 'restart':
      if (action.recovery) return `recovery ${action.recovery.attempt} (${action.recovery.reason})`;
      return action.cause ? 'requested' : '-';
    case 'recreate':
      return `replaces ${action.remove.length} outdated`;
    case 'remove':
      return [
        action.remove.length > 0 ? `${action.remove.length} container${action.remove.length === 1 ? '' : 's'}` : '',
        action.volume ? `volume ${action.volume}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
    case 'removeOrphan':
      return `${action.remove.length} container${action.remove.length === 1 ? '' : 's'}, volume kept`;
    case 'markFailing':
      return action.summary;
    default:
      return '-';
  }
}

const podOf = (item: { tenantId: string; podId: string }) => `${item.tenantId}/${item.podId}`;

const WAIT_REASON: Record<PlanWait['reason'], string> = {
  'crash-backoff': 'backing off after a crash',
  'action-backoff': 'backing off after a failed action',
  'node-unreachable': 'node unreachable',
};

export function formatWaits(waits: readonly PlanWait[]): string {
  if (waits.length === 0) return '';
  const rows = waits.map((wait) => [
    podOf(wait),
    wait.nodeId,
    WAIT_REASON[wait.reason],
    wait.until ? formatTime(wait.until) : '-',
    wait.attempt,
  ]);
  return `\nwaiting:\n${formatTable(['pod', 'node', 'reason', 'until', 'next attempt'], rows)}`;
}

export function formatPlan(plan: ReconcilePlanResult): string {
  const actions =
    plan.actions.length === 0
      ? 'nothing to do: every pod is as wanted'
      : formatTable(
          ['action', 'pod', 'node', 'generation', 'detail'],
          plan.actions.map((action) => [
            action.kind,
            podOf(action),
            action.nodeId,
            action.generation,
            actionDetail(action),
          ]),
        ).trimEnd();
  return `${actions}\n${formatWaits(plan.waits)}`;
}

export function outcomeText(outcome: ReconcileActionOutcome): string {
  switch (outcome.result) {
    case 'succeeded':
      return 'done';
    case 'failed':
      return `failed: ${outcome.error.message}`;
    case 'postponed':
      return `postponed: ${outcome.reason}`;
    case 'pending':
      return 'still running';
  }
}

export function formatPass(result: ReconcileResult): string {
  const replicas = result.replicas
    .map((replica) => {
      const what = replica.skipped ? `skipped (${replica.skipped})` : `${replica.shards.length} shards`;
      return `${replica.instanceId.slice(0, 8)}: ${what}, ${Math.round(replica.durationMs)} ms`;
    })
    .join('; ');
  const head = `pass by ${result.replicas.length} replica${result.replicas.length === 1 ? '' : 's'} (${replicas})\n`;
  const actions =
    result.actions.length === 0
      ? 'nothing changed: every pod is as wanted\n'
      : formatTable(
          ['action', 'pod', 'node', 'result', 'detail'],
          result.actions.map(({ action, outcome }) => [
            action.kind,
            podOf(action),
            action.nodeId,
            outcomeText(outcome),
            actionDetail(action),
          ]),
        );
  return `${head}${actions}${formatWaits(result.waits)}`;
}

/** The RECONCILER events the follow mode prints, as far as it reads them. */
const ReconcilerEvent = z.looseObject({
  type: z.string(),
  occurredAt: z.string().optional(),
  data: z.looseObject({
    tenantId: z.string().optional(),
    podId: z.string().optional(),
    nodeId: z.string().optional(),
    action: z.string().optional(),
    error: z.object({ message: z.string() }).optional(),
    recovery: z.object({ reason: z.string(), attempt: z.number() }).nullish(),
    summary: z.string().optional(),
  }),
});

/** One line per reconciler event: when, which pod, what happened. */
export function formatReconcilerEvent(value: unknown): string {
  const parsed = ReconcilerEvent.safeParse(value);
  if (!parsed.success) return clean(JSON.stringify(value));
  const { type, occurredAt, data } = parsed.data;
  const pod = `${data.tenantId ?? '?'}/${data.podId ?? '?'}`;
  const recovery = data.recovery ? ` (recovery ${data.recovery.attempt}, ${data.recovery.reason})` : '';
  const what =
    type === 'PodActionSucceeded'
      ? `${data.action} done${recovery}`
      : type === 'PodActionFailed'
        ? `${data.action} failed${recovery}: ${data.error?.message ?? 'no reason given'}`
        : type === 'PodFailing'
          ? `FAILING: ${data.summary ?? ''}`
          : type === 'PodRecovered'
            ? 'recovered'
            : type;
  return `${formatTime(occurredAt)}  ${clean(pod)}  ${clean(what)}`;
}

async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = '';
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer.trim() !== '') yield buffer;
}

/** Every RECONCILER event from now on (the latest one first, for context) until Ctrl-C. */
async function follow(ctx: Context, client: ApiClient, tenant: string | undefined): Promise<number> {
  ctx.out.note('following the reconcilers (Ctrl-C to stop)…');
  try {
    const response = await client.open(
      'events',
      { query: { context: 'reconciler', follow: 'true', limit: 1, tenant } },
      { labels: LABELS, timeoutMs: null },
    );
    if (!response.body) return EXIT.ok;
    for await (const line of lines(response.body)) {
      if (line.trim() === '') continue; // keep-alive
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        throw new AppError('internal', `the event stream carried a line that is not JSON: ${line.slice(0, 80)}`);
      }
      ctx.out.streamLine(event, () => formatReconcilerEvent(event));
    }
  } catch (error) {
    if (ctx.io.signal.aborted) return EXIT.ok;
    throw error;
  }
  return EXIT.ok;
}

export const reconcileCommand = defineCommand({
  path: ['reconcile'],
  summary: 'Show and apply what the reconciler would change (platform admins)',
  options: {
    'dry-run': {
      type: 'boolean',
      description: 'show the actions a pass would take and the pods left waiting; change nothing',
    },
    once: { type: 'boolean', description: 'run one pass now on every replica, show what it did, and exit' },
    tenant: { type: 'string', value: 'T', description: "only this tenant's pods" },
  },
  details:
    'Without --dry-run or --once: runs one pass now, shows what it did, then prints every action the reconcilers\n' +
    'take (and pods turning failing or recovered) as it happens, until Ctrl-C. The reconcilers act on their own\n' +
    'every few seconds whatever this command does; --once only makes it happen now.\n' +
    'Exit codes: --once exits 1 when an action of the pass failed.',
  async run(ctx, { options }) {
    if (options['dry-run'] && options.once) throw usageError('--dry-run shows, --once acts: give one of them');
    const client = await ctx.client();
    if (options['dry-run']) {
      const plan = await client.call('reconcilePlan', { query: { tenant: options.tenant } }, { labels: LABELS });
      ctx.out.result(plan, () => formatPlan(plan));
      return EXIT.ok;
    }
    const result = await client.call(
      'reconcile',
      { body: { tenant: options.tenant } },
      { labels: LABELS, timeoutMs: PASS_TIMEOUT_MS },
    );
    if (options.once) {
      ctx.out.result(result, () => formatPass(result));
      return result.actions.some(({ outcome }) => outcome.result === 'failed') ? EXIT.failure : EXIT.ok;
    }
    ctx.out.streamLine(result, () => formatPass(result).trimEnd());
    return follow(ctx, client, options.tenant);
  },
});

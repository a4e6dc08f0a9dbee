import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, podRef, type RolloutPodView, RolloutStatus, type RolloutView } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import type { ApiClient } from '../client.ts';
import type { Context } from '../context.ts';
import { clean, EXIT, formatTable, formatTime } from '../output.ts';
import { podRefArg } from './pod-flags.ts';
import { waitState } from './pod-wait.ts';

/*
 * `pod upgrade`: a rolling upgrade, carried out by the pods service. The command starts it, then follows it: a
 * progress line on stderr for each change of a pod (its phase, and while it upgrades, its status and health), the
 * rollout on stdout at the end. Exit 0 when it succeeded, 1 when it failed (naming the pod and why) or was
 * cancelled. Ctrl-C stops following only; the rollout goes on, and `agentpod rollout status <id> --wait` follows it
 * again. The `rollout` commands read and cancel rollouts.
 */

const POLL_MS = 1_000;

const ref = (pod: { tenantId: string; podId: string }) => podRef(pod.tenantId, pod.podId);

/** What a progress line says about a pod of a rollout. */
export function podProgress(pod: RolloutPodView, image: string): string {
  switch (pod.phase) {
    case 'pending':
      return 'waiting for its turn';
    case 'upgrading':
      return `upgrading to ${image} (generation ${pod.generation})`;
    case 'healthy':
      return `healthy on ${image}`;
    case 'failed':
      return `failed: ${pod.reason ?? 'no reason given'}`;
    case 'rolledBack':
      return pod.rollbackGeneration === null
        ? `failed: ${pod.reason ?? 'no reason given'}; not rolled back (the pod is gone)`
        : `rolled back to ${pod.fromImage} (generation ${pod.rollbackGeneration})`;
    case 'skipped':
      return `skipped: ${pod.reason ?? 'no reason given'}`;
    default: {
      const unknown: never = pod.phase;
      return unknown;
    }
  }
}

/** The end of a rollout in one paragraph. */
export function rolloutSummary(rollout: RolloutView): string {
  const count = (phase: RolloutPodView['phase']) => rollout.pods.filter((pod) => pod.phase === phase).length;
  const untouched = count('pending');
  const parts = [`${count('healthy')} upgraded`];
  if (count('rolledBack') + count('failed') > 0) parts.push(`${count('rolledBack') + count('failed')} failed`);
  if (count('skipped') > 0) parts.push(`${count('skipped')} skipped`);
  if (untouched > 0) parts.push(`${untouched} left untouched`);
  const head = `rollout ${rollout.id} ${rollout.status}`;
  const why = rollout.reason ? `: ${rollout.reason}` : '';
  return `${head}${why} (${parts.join(', ')})\n`;
}

export function formatRollout(rollout: RolloutView): string {
  const rows = rollout.pods.map((pod) => [
    ref(pod),
    pod.phase,
    pod.fromImage,
    pod.generation ?? '-',
    pod.reason ?? (pod.rollbackGeneration ? `rolled back (generation ${pod.rollbackGeneration})` : '-'),
  ]);
  return [
    `rollout    ${rollout.id}\n`,
    `status     ${clean(rollout.status)}${rollout.reason ? `: ${clean(rollout.reason)}` : ''}\n`,
    `image      ${clean(rollout.image)}, ${rollout.maxUnavailable} at a time\n`,
    `started    ${formatTime(rollout.startedAt)}${rollout.endedAt ? `, ended ${formatTime(rollout.endedAt)}` : ''}\n`,
    formatTable(['pod', 'phase', 'from', 'generation', 'note'], rows),
  ].join('');
}

/**
 * Polls the rollout until it ends, a progress line for each change; the rollout as it ended. Ctrl-C: the
 * interrupt, with the way to follow it again.
 */
async function follow(ctx: Context, client: ApiClient, rollout: RolloutView): Promise<RolloutView> {
  const shown = new Map<string, string>();
  let current = rollout;
  for (;;) {
    for (const pod of current.pods) {
      let line = podProgress(pod, current.image);
      if (pod.phase === 'upgrading') {
        // The pod's own state is detail for the eye: a pod that cannot be read now (deleted) just shows less.
        const view = await client
          .call('getPod', { params: { tenant: pod.tenantId, pod: pod.podId } })
          .catch((error: unknown) => {
            if (ctx.io.signal.aborted) throw error;
            return undefined;
          });
        if (view?.generation === pod.generation) line = `${line}: ${waitState(view)}`;
      }
      if (shown.get(ref(pod)) !== line && !(pod.phase === 'pending' && !shown.has(ref(pod)))) {
        ctx.out.note(`${ref(pod)}: ${clean(line)}`);
      }
      shown.set(ref(pod), line);
    }
    if (current.status !== 'running') return current;
    await sleep(POLL_MS, undefined, { signal: ctx.io.signal });
    current = await client.call('getRollout', { params: { rollout: current.id } });
  }
}

/** Follows a rollout and answers it; exit 0 only when it succeeded. */
async function followToEnd(ctx: Context, client: ApiClient, started: RolloutView): Promise<number> {
  let ended: RolloutView;
  try {
    ended = await follow(ctx, client, started);
  } catch (error) {
    if (!ctx.io.signal.aborted) throw error;
    ctx.out.note(
      `\nstopped following; rollout ${started.id} goes on in the control plane. ` +
        `Follow it with: agentpod rollout status ${started.id} --wait`,
    );
    return EXIT.interrupted;
  }
  ctx.out.result(ended, () => rolloutSummary(ended));
  if (ended.status === 'succeeded') return EXIT.ok;
  if (ctx.out.json) ctx.out.note(`agentpod: ${clean(rolloutSummary(ended).trim())}`);
  return EXIT.failure;
}

const INTEGER = /^[0-9]{1,4}$/;
function count(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!INTEGER.test(text)) throw usageError(`invalid ${flag} ${text}: must be a whole number`);
  return Number(text);
}

export const podUpgradeCommand = defineCommand({
  path: ['pod', 'upgrade'],
  summary:
    'Rolling upgrade to a new image: pods one at a time, each must be healthy, the first that is not is rolled back',
  args: ['tenant/pod?'],
  options: {
    image: {
      type: 'string',
      value: 'IMG',
      required: true,
      description: 'the image to move to, e.g. ghcr.io/acme/app:2',
    },
    all: {
      type: 'boolean',
      description: 'every running pod (of --tenant; without it, of every tenant: platform admins)',
    },
    tenant: { type: 'string', value: 'T', description: 'with --all: only the pods of this tenant' },
    'max-unavailable': { type: 'string', value: 'N', description: 'pods upgraded at the same time (default 1)' },
    timeout: { type: 'string', value: 'S', description: 'seconds a pod may take to be healthy (default 300)' },
  },
  details:
    'Each pod gets the image (a new generation) and must then run and pass its health check (without one: run\n' +
    '10 s without crashing) within --timeout. The first pod that does not is rolled back to its previous image\n' +
    'and the rollout stops: pods not yet upgraded stay as they are. The pods service carries the rollout out:\n' +
    'Ctrl-C stops following it, not the rollout (agentpod rollout status <id> --wait follows it again;\n' +
    'agentpod rollout cancel <id> stops it). Exit 0 when every pod was upgraded, 1 when the rollout failed.\n' +
    'Named pods need the member role in their tenant, --all --tenant T its admin role, --all alone a platform admin.',
  async run(ctx, { args, options }) {
    const named = args['tenant/pod'];
    if ((named === undefined) === (options.all !== true)) {
      throw usageError('name one pod (<tenant>/<pod>) or pass --all; see agentpod pod upgrade --help');
    }
    if (named !== undefined && options.tenant !== undefined) {
      throw usageError('--tenant goes with --all; a named pod carries its tenant (<tenant>/<pod>)');
    }
    const settings = {
      image: options.image,
      maxUnavailable: count('--max-unavailable', options['max-unavailable']),
      timeoutSeconds: count('--timeout', options.timeout),
    };
    const labels = {
      image: '--image',
      maxUnavailable: '--max-unavailable',
      timeoutSeconds: '--timeout',
      tenant: named === undefined ? '--tenant' : '<tenant>/<pod>',
      pods: '<tenant>/<pod>',
    };
    const client = await ctx.client();
    let rollout: RolloutView;
    if (named !== undefined) {
      const key = podRefArg(named);
      const body = { ...settings, pods: [key.podId] };
      rollout = await client.call('startTenantRollout', { params: { tenant: key.tenantId }, body }, { labels });
    } else if (options.tenant !== undefined) {
      const input = { params: { tenant: options.tenant }, body: { ...settings, all: true } };
      rollout = await client.call('startTenantRollout', input, { labels });
    } else {
      rollout = await client.call('startRollout', { body: { ...settings, all: true as const } }, { labels });
    }
    const scope = rollout.tenantId === null ? 'across every tenant' : `of ${rollout.tenantId}`;
    ctx.out.note(
      `rollout ${rollout.id}: ${rollout.pods.length} pod(s) ${scope} to ${clean(rollout.image)}, ` +
        `${rollout.maxUnavailable} at a time`,
    );
    return followToEnd(ctx, client, rollout);
  },
});

export const rolloutStatusCommand = defineCommand({
  path: ['rollout', 'status'],
  summary: "A rollout and each pod's progress; --wait follows it to its end",
  args: ['id'],
  options: {
    wait: { type: 'boolean', description: 'follow it until it ends (exit 1 when it failed); Ctrl-C stops following' },
  },
  async run(ctx, { args, options }) {
    const client = await ctx.client();
    const rollout = await client.call('getRollout', { params: { rollout: args.id } }, { labels: { rollout: '<id>' } });
    if (options.wait) return followToEnd(ctx, client, rollout);
    ctx.out.result(rollout, () => formatRollout(rollout));
    return EXIT.ok;
  },
});

export const rolloutListCommand = defineCommand({
  path: ['rollout', 'list'],
  summary: 'Rollouts, newest first',
  options: {
    tenant: { type: 'string', value: 'T', description: 'only those of this tenant' },
    status: { type: 'string', value: 'S', description: `only those ${RolloutStatus.options.join(', ')}` },
  },
  async run(ctx, { options }) {
    const status = options.status === undefined ? undefined : RolloutStatus.safeParse(options.status);
    if (status && !status.success) {
      throw usageError(`invalid --status ${options.status}: must be one of ${RolloutStatus.options.join(', ')}`);
    }
    const query = { tenant: options.tenant, status: status?.data };
    const labels = { tenant: '--tenant', status: '--status' };
    const { rollouts } = await (await ctx.client()).call('listRollouts', { query }, { labels });
    const rows = rollouts.map((r) => [
      r.id,
      r.tenantId ?? 'all tenants',
      r.status,
      r.image,
      `${r.pods.filter((pod) => pod.phase === 'healthy').length}/${r.pods.length}`,
      formatTime(r.startedAt),
    ]);
    ctx.out.result({ rollouts }, () =>
      rows.length === 0
        ? 'no rollouts\n'
        : formatTable(['id', 'tenant', 'status', 'image', 'upgraded', 'started'], rows),
    );
    return EXIT.ok;
  },
});

export const rolloutCancelCommand = defineCommand({
  path: ['rollout', 'cancel'],
  summary: 'Stop a running rollout where it is (pods not yet upgraded stay as they are)',
  args: ['id'],
  async run(ctx, { args }) {
    const client = await ctx.client();
    const labels = { rollout: '<id>' };
    const rollout = await client.call('cancelRollout', { params: { rollout: args.id } }, { labels });
    if (rollout.status !== 'cancelled') throw new AppError('conflict', `rollout ${rollout.id} is ${rollout.status}`);
    ctx.out.result(rollout, () => rolloutSummary(rollout));
    return EXIT.ok;
  },
});

export const rolloutCommands = [podUpgradeCommand, rolloutStatusCommand, rolloutListCommand, rolloutCancelCommand];

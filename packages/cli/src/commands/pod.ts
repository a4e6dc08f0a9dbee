import { podRef } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { clean, EXIT, formatFields } from '../output.ts';
import { confirm } from '../prompt.ts';
import { buildRequest } from '../request.ts';
import { podCreateCommand, podUpdateCommand } from './pod-create.ts';
import { podRefArg } from './pod-flags.ts';
import { formatPod, formatPodList, podStatusText } from './pod-format.ts';
import { podLogsCommand } from './pod-logs.ts';
import { rolloutCommands } from './pod-upgrade.ts';

/* The `pod` commands; create and update live in pod-create.ts, logs in pod-logs.ts. */

const REF_LABELS = { tenant: '<tenant>/<pod>', pod: '<tenant>/<pod>' };
const paramsOf = (text: string) => {
  const key = podRefArg(text);
  return { tenant: key.tenantId, pod: key.podId };
};

export const podListCommand = defineCommand({
  path: ['pod', 'list'],
  summary: 'Pods you can see, grouped by tenant (every pod for a platform admin)',
  options: { tenant: { type: 'string', value: 'T', description: 'only the pods of this tenant' } },
  async run(ctx, { options }) {
    const { pods } = await (await ctx.client()).call(
      'listPods',
      { query: { tenant: options.tenant } },
      { labels: { tenant: '--tenant' } },
    );
    ctx.out.result({ pods }, () => (pods.length === 0 ? 'no pods\n' : formatPodList(pods, new Date())));
    return EXIT.ok;
  },
});

export const podStatusCommand = defineCommand({
  path: ['pod', 'status'],
  summary: 'One pod: status, health, node, ports, limits',
  args: ['tenant/pod'],
  async run(ctx, { args }) {
    const pod = await (await ctx.client()).call(
      'getPod',
      { params: paramsOf(args['tenant/pod']) },
      { labels: REF_LABELS },
    );
    ctx.out.result(pod, () => formatPod(pod, new Date()));
    return EXIT.ok;
  },
});

const lifecycle = (verb: 'stop' | 'start' | 'restart', summary: string, done: string) =>
  defineCommand({
    path: ['pod', verb],
    summary,
    args: ['tenant/pod'],
    async run(ctx, { args }) {
      const route = verb === 'stop' ? 'stopPod' : verb === 'start' ? 'startPod' : 'restartPod';
      const pod = await (await ctx.client()).call(
        route,
        { params: paramsOf(args['tenant/pod']) },
        { labels: REF_LABELS },
      );
      ctx.out.result(pod, () => `${done} ${podRef(pod.tenantId, pod.podId)} (${clean(podStatusText(pod))})\n`);
      return EXIT.ok;
    },
  });

export const podStopCommand = lifecycle('stop', 'Stop a pod and keep it stopped', 'stopping');
export const podStartCommand = lifecycle('start', 'Run a stopped pod again', 'starting');
export const podRestartCommand = lifecycle('restart', "Restart a pod's container", 'restarting');

export const podTokenCommand = defineCommand({
  path: ['pod', 'token'],
  summary: "A pod's access token (tenant admins); --rotate replaces it",
  args: ['tenant/pod'],
  options: {
    rotate: { type: 'boolean', description: 'make a new token; the old one stops working (a new generation)' },
  },
  async run(ctx, { args, options }) {
    const params = paramsOf(args['tenant/pod']);
    const client = await ctx.client();
    if (options.rotate) {
      const rotated = await client.call('rotatePodToken', { params }, { labels: REF_LABELS });
      ctx.out.result(rotated, () =>
        formatFields([
          ['access token', rotated.accessToken],
          ['generation', rotated.generation],
        ]),
      );
    } else {
      const token = await client.call('podToken', { params }, { labels: REF_LABELS });
      ctx.out.result(token, () => `${token.accessToken}\n`);
    }
    return EXIT.ok;
  },
});

export const podDeleteCommand = defineCommand({
  path: ['pod', 'delete'],
  summary: 'Delete a pod: its container, its volume (unless --keep-volume) and its ports',
  args: ['tenant/pod'],
  options: {
    'keep-volume': { type: 'boolean', description: "keep the pod's volume and its data" },
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (needed when not on a terminal)' },
  },
  async run(ctx, { args, options }) {
    const params = paramsOf(args['tenant/pod']);
    const ref = podRef(params.tenant, params.pod);
    const input = { params, query: { keepVolume: options['keep-volume'] ? 'true' : 'false' } };
    buildRequest('deletePod', input, 'http://localhost', REF_LABELS);
    if (!options.yes) {
      const what = options['keep-volume'] ? `pod ${ref} (keeping its volume)` : `pod ${ref} and its volume`;
      const confirmed = await confirm(ctx.io, `Delete ${what}? Type ${ref} to confirm: `, ref);
      if (!confirmed) throw usageError(`not deleting pod ${ref}: confirm on a terminal, or pass --yes`);
    }
    await (await ctx.client()).call('deletePod', input, { labels: REF_LABELS });
    ctx.out.result({ pod: ref, deleted: true, keepVolume: options['keep-volume'] === true }, () =>
      options['keep-volume'] ? `deleted pod ${ref}; its volume is kept\n` : `deleted pod ${ref}\n`,
    );
    return EXIT.ok;
  },
});

export const podCommands = [
  podCreateCommand,
  podListCommand,
  podStatusCommand,
  podLogsCommand,
  podStopCommand,
  podStartCommand,
  podRestartCommand,
  podUpdateCommand,
  podTokenCommand,
  podDeleteCommand,
  ...rolloutCommands,
];

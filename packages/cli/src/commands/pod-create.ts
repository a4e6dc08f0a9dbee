import { EnvValue, type PodView, podRef } from '@agentpod/contracts';
import { defineCommand, type OptionSpec, usageError } from '../args.ts';
import type { Context } from '../context.ts';
import { clean, EXIT, formatFields } from '../output.ts';
import { ask } from '../prompt.ts';
import {
  limitsFrom,
  parseCmdFlag,
  parseEnvFlags,
  parseHealth,
  parseNodeFlag,
  parsePortFlags,
  parseRestartFlag,
  parseSecretFlags,
  parseTimeoutFlag,
  parseVolumeFlag,
  podRefArg,
  splitCommand,
} from './pod-flags.ts';
import { formatPod, formatPorts, podStatusText } from './pod-format.ts';
import { waitForPod } from './pod-wait.ts';

/* `pod create` and `pod update`: flags → the API's body, then, with --wait, progress until the pod runs. */

const specOptions = {
  image: { type: 'string', value: 'IMG', description: 'the image, e.g. nginx:1.27 or ghcr.io/acme/app:v2' },
  port: {
    type: 'string',
    value: 'P',
    multiple: true,
    description: 'a container port: 8080, 53/udp, 8080:public (on every interface; else 127.0.0.1 only)',
  },
  env: { type: 'string', value: 'K=V', multiple: true, description: 'an environment variable' },
  secret: {
    type: 'string',
    value: 'K[=V]',
    multiple: true,
    description: 'a secret (encrypted at rest, never shown again); K alone reads the value from stdin',
  },
  memory: { type: 'string', value: 'SIZE', description: 'memory limit, e.g. 256m (default), 1g' },
  cpus: { type: 'string', value: 'N', description: 'CPU limit, e.g. 0.5 (default)' },
  pids: { type: 'string', value: 'N', description: 'process limit (default 256)' },
  cmd: { type: 'string', value: 'CMD', description: 'the command, split into words like a shell (never run by one)' },
  health: { type: 'string', value: 'H', description: 'health check: http:/path, tcp[:port] or ws:/path' },
  restart: { type: 'string', value: 'R', description: 'always (default), on-failure or never' },
  wait: { type: 'boolean', description: 'wait until the pod runs (and is healthy), showing progress on stderr' },
  timeout: { type: 'string', value: 'S', description: 'with --wait: give up after S seconds (default 120)' },
} as const satisfies Record<string, OptionSpec>;

/** Labels for errors the contracts report about the body, by path. */
const LABELS = {
  podId: '<tenant>/<pod>',
  tenant: '<tenant>/<pod>',
  pod: '<tenant>/<pod>',
  image: '--image',
  'spec.image': '--image',
  'spec.ports': '--port',
  'spec.health': '--health',
  'spec.health.port': '--health',
  health: '--health',
  'spec.secretNames': '--secret',
  node: '--node',
};

/** Values of `--secret K` (no value): typed without echo on a terminal, else all of stdin (one secret only). */
async function secretsFromStdin(ctx: Context, keys: readonly string[]): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  if (keys.length === 0) return values;
  if (ctx.io.stdin.isTTY === true) {
    for (const key of keys) values[key] = await ask(ctx.io, `Value of secret ${key}: `, { secret: true });
  } else {
    if (keys.length > 1) {
      throw usageError(
        `only one --secret without a value can be read from stdin; give ${keys.slice(1).join(', ')} as K=V`,
      );
    }
    let text = '';
    for await (const chunk of ctx.io.stdin) {
      text += String(chunk);
      if (text.length > 64 * 1024) break;
    }
    values[keys[0] ?? ''] = text.replace(/\r?\n$/, '');
  }
  for (const [key, value] of Object.entries(values)) {
    if (value === '') throw usageError(`invalid --secret ${key}: no value was given on stdin`);
    const parsed = EnvValue.safeParse(value);
    if (!parsed.success) throw usageError(`invalid --secret ${key}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return values;
}

async function secretsOf(ctx: Context, flags: readonly string[] | undefined) {
  const { secrets, missing } = parseSecretFlags(flags ?? []);
  return { ...secrets, ...(await secretsFromStdin(ctx, missing)) };
}

function createdText(pod: PodView & { accessToken: string }): string {
  return [
    `created pod ${podRef(pod.tenantId, pod.podId)} on node ${clean(pod.nodeName ?? pod.nodeId)}: ${clean(podStatusText(pod))}\n`,
    formatFields([
      ['ports', formatPorts(pod.ports)],
      ['access token', pod.accessToken],
    ]),
    'The access token is shown only now (tenant admins: agentpod pod token).\n',
  ].join('');
}

export const podCreateCommand = defineCommand({
  path: ['pod', 'create'],
  summary: 'Create a pod; answers at once (or, with --wait, once it runs)',
  args: ['tenant/pod'],
  options: {
    ...specOptions,
    image: { ...specOptions.image, required: true },
    volume: { type: 'string', value: 'PATH', description: "mount the pod's own named volume at PATH, e.g. /data" },
    node: { type: 'string', value: 'N', description: 'place it on this node (name or id); else one with room' },
  },
  details:
    'Example: agentpod pod create acme/web --image nginx:1.27 --port 80 --env MODE=prod --secret API_KEY \\\n' +
    '           --memory 512m --cpus 1 --volume /data --health http:/healthz --wait',
  async run(ctx, { args, options }) {
    const key = podRefArg(args['tenant/pod']);
    const ports = parsePortFlags(options.port ?? []);
    const env = parseEnvFlags(options.env ?? []);
    const limits = limitsFrom(options);
    const spec = {
      image: options.image,
      ...(options.cmd === undefined ? {} : { cmd: parseCmdFlag(options.cmd) }),
      env,
      ports,
      ...(options.volume === undefined ? {} : { volume: parseVolumeFlag(options.volume) }),
      ...(limits ? { limits } : {}),
      ...(options.health === undefined ? {} : { health: parseHealth(options.health) }),
      ...(options.restart === undefined ? {} : { restart: parseRestartFlag(options.restart) }),
    };
    const node = options.node === undefined ? undefined : parseNodeFlag(options.node);
    const timeoutSeconds = parseTimeoutFlag(options.timeout);
    const secrets = await secretsOf(ctx, options.secret);
    const client = await ctx.client();
    const created = await client.call(
      'createPod',
      {
        params: { tenant: key.tenantId },
        body: {
          podId: key.podId,
          spec: { ...spec, secretNames: Object.keys(secrets) },
          secrets,
          ...(node ? { node } : {}),
        },
      },
      { labels: LABELS },
    );
    if (!options.wait) {
      ctx.out.result(created, () => createdText(created));
      return EXIT.ok;
    }
    ctx.out.note(createdText(created).trimEnd());
    const pod = await waitForPod(ctx, client, key, { generation: created.generation, timeoutSeconds });
    ctx.out.result({ ...pod, accessToken: created.accessToken }, () => formatPod(pod, new Date()));
    return EXIT.ok;
  },
});

export const podUpdateCommand = defineCommand({
  path: ['pod', 'update'],
  summary: 'Change a pod: a new generation replaces its container',
  args: ['tenant/pod'],
  options: {
    ...specOptions,
    port: { ...specOptions.port, description: `${specOptions.port.description}; replaces every port` },
    cmd: { ...specOptions.cmd, description: `${specOptions.cmd.description}; "" for the image's own` },
    health: { ...specOptions.health, description: `${specOptions.health.description}; none to drop it` },
    'unset-env': { type: 'string', value: 'K', multiple: true, description: 'remove an environment variable' },
    'unset-secret': { type: 'string', value: 'K', multiple: true, description: 'remove a secret' },
  },
  details: 'Env and secrets merge with what the pod has; --memory, --cpus and --pids change only that limit.',
  async run(ctx, { args, options }) {
    const key = podRefArg(args['tenant/pod']);
    const params = { tenant: key.tenantId, pod: key.podId };
    const timeoutSeconds = parseTimeoutFlag(options.timeout);
    const body = {
      ...(options.image === undefined ? {} : { image: options.image }),
      ...(options.cmd === undefined
        ? {}
        : { cmd: splitCommand(options.cmd).length === 0 ? null : parseCmdFlag(options.cmd) }),
      ...(options.env === undefined ? {} : { env: parseEnvFlags(options.env) }),
      ...(options['unset-env'] === undefined ? {} : { unsetEnv: options['unset-env'] }),
      ...(options['unset-secret'] === undefined ? {} : { unsetSecrets: options['unset-secret'] }),
      ...(options.port === undefined ? {} : { ports: parsePortFlags(options.port) }),
      ...(options.health === undefined
        ? {}
        : { health: options.health === 'none' ? null : parseHealth(options.health) }),
      ...(options.restart === undefined ? {} : { restart: parseRestartFlag(options.restart) }),
    };
    const limits = limitsFrom(options);
    const secrets = options.secret === undefined ? undefined : await secretsOf(ctx, options.secret);
    if (Object.keys(body).length === 0 && !secrets && !limits) {
      throw usageError('nothing to change; see agentpod pod update --help');
    }
    const client = await ctx.client();
    const updated = await client.call(
      'updatePod',
      {
        params,
        body: {
          ...body,
          ...(limits ? { limits } : {}),
          ...(secrets ? { secrets } : {}),
        },
      },
      {
        labels: {
          ...LABELS,
          cmd: '--cmd',
          env: '--env',
          unsetEnv: '--unset-env',
          unsetSecrets: '--unset-secret',
          ports: '--port',
        },
      },
    );
    const ref = podRef(key.tenantId, key.podId);
    if (!options.wait) {
      ctx.out.result(updated, () => `updated pod ${ref}: generation ${updated.generation}\n`);
      return EXIT.ok;
    }
    ctx.out.note(`updated pod ${ref}: generation ${updated.generation}`);
    const pod = await waitForPod(ctx, client, key, { generation: updated.generation, timeoutSeconds });
    ctx.out.result(pod, () => formatPod(pod, new Date()));
    return EXIT.ok;
  },
});

import {
  AppError,
  CreatePod,
  Env,
  findEscalations,
  invalidInput,
  POD_ACCESS_TOKEN_ENV,
  POD_ACCESS_TOKEN_PREFIX,
  PodSpec,
  UpdatePod,
} from '@agentpod/contracts';
import type { z } from 'zod';

/*
 * Every path that turns a request into a container passes here (create and update; compose import later), pure.
 * Escalations are looked for in the raw request first, so asking for privileged mode, a host namespace, devices,
 * capabilities, host binds or the Docker socket — under any field name the spec knows or not — is refused as
 * `forbidden` with a sentence naming it, before the strict schema would call it an unknown field.
 */

export type CreatePodInput = z.infer<typeof CreatePod>;
export type UpdatePodInput = z.infer<typeof UpdatePod>;

export function refuseEscalations(raw: unknown): void {
  const escalations = findEscalations(raw);
  if (escalations.length > 0) {
    throw new AppError('forbidden', `refused: ${escalations.join('; ')}`, { details: escalations });
  }
}

function parsed<T>(result: z.ZodSafeParseResult<T>, what: string): T {
  if (!result.success) throw invalidInput(result.error, what);
  return result.data;
}

/** A token-sized stand-in, so the size checks count the access token the container will get. */
const TOKEN_STAND_IN = `${POD_ACCESS_TOKEN_PREFIX}${'x'.repeat(43)}`;

/**
 * The container's environment is the spec's env, the secrets and the access token together: checked as a whole
 * (count, size, the reserved name) when the pod is recorded, so building its container later cannot fail.
 */
export function checkContainerEnv(spec: PodSpec, secretValues: Readonly<Record<string, string>>): void {
  if (Object.hasOwn(spec.env, POD_ACCESS_TOKEN_ENV) || spec.secretNames.includes(POD_ACCESS_TOKEN_ENV)) {
    throw new AppError('invalid', `${POD_ACCESS_TOKEN_ENV} is set by AgentPod (the pod's access token)`);
  }
  parsed(
    Env.safeParse({ ...spec.env, ...secretValues, [POD_ACCESS_TOKEN_ENV]: TOKEN_STAND_IN }),
    'container environment (env, secrets and the access token together)',
  );
}

/**
 * A create request, checked: the secrets' names become the spec's `secretNames` (a name listed without a value
 * is refused), and the whole container environment fits.
 */
export function parseCreate(raw: unknown): CreatePodInput {
  refuseEscalations(raw);
  const input = parsed(CreatePod.safeParse(raw), 'pod');
  const missing = input.spec.secretNames.filter((name) => !Object.hasOwn(input.secrets, name));
  if (missing.length > 0) throw new AppError('invalid', `secret ${missing.join(', ')} has no value`);
  const secretNames = Object.keys(input.secrets).sort();
  const spec = parsed(PodSpec.safeParse({ ...input.spec, secretNames }), 'pod spec');
  checkContainerEnv(spec, input.secrets);
  return { ...input, spec };
}

export function parseUpdate(raw: unknown): UpdatePodInput {
  refuseEscalations(raw);
  return parsed(UpdatePod.safeParse(raw), 'pod update');
}

/** The spec after an update: env and secret names merge (set, then unset), limits field by field, the rest replaces. */
export function applyPatch(spec: PodSpec, patch: UpdatePodInput): PodSpec {
  const unsetEnv = new Set(patch.unsetEnv ?? []);
  const unsetSecrets = new Set(patch.unsetSecrets ?? []);
  const env = Object.fromEntries(Object.entries({ ...spec.env, ...patch.env }).filter(([name]) => !unsetEnv.has(name)));
  const secretNames = [...new Set([...spec.secretNames, ...Object.keys(patch.secrets ?? {})])]
    .filter((name) => !unsetSecrets.has(name))
    .sort();
  const next = {
    ...spec,
    image: patch.image ?? spec.image,
    cmd: patch.cmd === undefined ? spec.cmd : (patch.cmd ?? undefined),
    env,
    secretNames,
    ports: patch.ports ?? spec.ports,
    limits: { ...spec.limits, ...patch.limits },
    health: patch.health === undefined ? spec.health : (patch.health ?? undefined),
    restart: patch.restart ?? spec.restart,
  };
  refuseEscalations(next);
  return parsed(PodSpec.safeParse(next), 'pod spec');
}

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppError, KeptMount, PodId, TenantId } from '@agentpod/contracts';
import { z } from 'zod';

/*
 * The containers this node's agent adopted. Docker cannot change the labels of an existing container, so an
 * adopted container keeps the labels it was started with (none of AgentPod's); the registry says which pod and
 * generation it is, and the runtime reports it exactly like a labelled container of that pod from then on. It
 * also remembers, per pod, the mounts its adopted containers had: the only host paths and foreign volumes a later
 * generation of that pod may mount (`ContainerSpec.keptMounts`), whatever a request says.
 *
 * One JSON file in the agent's state directory, 0600, replaced atomically (written beside it, then renamed), so a
 * crash leaves the old registry or the new one, never half of one.
 */

export const Adoption = z.object({
  containerId: z.string().min(1),
  tenantId: TenantId,
  podId: PodId,
  generation: z.number().int().positive(),
  /** The node it was adopted for (null where the runtime is not scoped to a node: tests). */
  nodeId: z.string().nullable(),
  /** Its name before AgentPod renamed it. */
  originalName: z.string(),
  adoptedAt: z.string(),
});
export type Adoption = z.infer<typeof Adoption>;

const RegistryFile = z.object({
  version: z.literal(1),
  containers: z.array(Adoption),
  /** `<tenant>/<pod>` → every mount its adopted containers had; kept after those containers are gone. */
  keptMounts: z.record(z.string(), z.array(KeptMount)),
});
type RegistryFile = z.infer<typeof RegistryFile>;

/** What the runtime reads and the adoption writes. */
export interface Adoptions {
  get(containerId: string): Adoption | undefined;
  all(): Adoption[];
  /** The mounts a generation of the pod may keep. */
  keptMounts(tenantId: string, podId: string): KeptMount[];
  record(adoption: Adoption, mounts: readonly KeptMount[]): Promise<void>;
  /** The container is gone: it is no longer reported; the pod's kept mounts stay allowed. */
  forget(containerId: string): Promise<void>;
}

const sameMount = (a: KeptMount, b: KeptMount) =>
  a.type === b.type && a.source === b.source && a.destination === b.destination && a.readOnly === b.readOnly;

export const registryFile = (stateDir: string): string => join(stateDir, 'adoptions.json');

export class AdoptionRegistry implements Adoptions {
  #state: RegistryFile;
  /** Saves run one after the other, each writing the state as it is when it runs. */
  #saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string | null,
    state: RegistryFile,
  ) {
    this.#state = state;
  }

  /** The registry kept at `file` (none yet: empty). A file that is there but unreadable is an error. */
  static async open(file: string): Promise<AdoptionRegistry> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new AdoptionRegistry(file, empty());
      throw new AppError('unavailable', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    let parsed: z.ZodSafeParseResult<RegistryFile>;
    try {
      parsed = RegistryFile.safeParse(JSON.parse(text));
    } catch {
      throw new AppError(
        'invalid',
        `${file} is not JSON; restore it from a backup (it says which containers are adopted)`,
      );
    }
    if (!parsed.success)
      throw new AppError('invalid', `${file} is not an adoption registry: ${parsed.error.issues[0]?.message}`);
    return new AdoptionRegistry(file, parsed.data);
  }

  /** A registry that is never written anywhere (tests). */
  static inMemory(): AdoptionRegistry {
    return new AdoptionRegistry(null, empty());
  }

  get(containerId: string): Adoption | undefined {
    return this.#state.containers.find((adoption) => adoption.containerId === containerId);
  }

  all(): Adoption[] {
    return [...this.#state.containers];
  }

  keptMounts(tenantId: string, podId: string): KeptMount[] {
    return [...(this.#state.keptMounts[`${tenantId}/${podId}`] ?? [])];
  }

  record(adoption: Adoption, mounts: readonly KeptMount[]): Promise<void> {
    const key = `${adoption.tenantId}/${adoption.podId}`;
    const known = this.#state.keptMounts[key] ?? [];
    this.#state = {
      ...this.#state,
      containers: [...this.#state.containers.filter((a) => a.containerId !== adoption.containerId), adoption],
      keptMounts: {
        ...this.#state.keptMounts,
        [key]: [...known, ...mounts.filter((mount) => !known.some((k) => sameMount(k, mount)))],
      },
    };
    return this.save();
  }

  forget(containerId: string): Promise<void> {
    if (!this.get(containerId)) return Promise.resolve();
    this.#state = { ...this.#state, containers: this.#state.containers.filter((a) => a.containerId !== containerId) };
    return this.save();
  }

  private save(): Promise<void> {
    const { file } = this;
    if (file === null) return Promise.resolve();
    const next = this.#saving.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(this.#state, null, 2)}\n`, { mode: 0o600 });
      await chmod(temporary, 0o600);
      await rename(temporary, file);
    });
    // A failed save fails its caller; the next save writes the whole state again.
    this.#saving = next.catch(() => {});
    return next;
  }
}

const empty = (): RegistryFile => ({ version: 1, containers: [], keptMounts: {} });

/** Whether every mount asked for is one the pod's adopted containers had. */
export function unknownMounts(allowed: readonly KeptMount[], asked: readonly KeptMount[]): KeptMount[] {
  return asked.filter((mount) => !allowed.some((known) => sameMount(known, mount)));
}

import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * The benchmarks run the built control plane (`npm run build`), as `npm start` does, because resident memory is
 * only meaningful for the processes people run. Missing output is fatal; output older than its sources is
 * reported, since measuring yesterday's code by mistake is worse than measuring nothing.
 */

export const SERVICES = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Each process's entry point, relative to the repository root. */
export const entryPoints = (): { name: ServiceName | 'agent'; main: string }[] => [
  ...SERVICES.map((name) => ({ name, main: `services/${name}/dist/main.js` })),
  { name: 'agent' as const, main: 'agent/dist/main.js' },
];

/** The projects whose output the processes load: the services, the agent and the packages they import. */
const PROJECTS = ['packages/contracts', 'packages/kit', ...SERVICES.map((name) => `services/${name}`), 'agent'];

async function newestSource(dir: string): Promise<{ file: string; mtimeMs: number } | undefined> {
  let newest: { file: string; mtimeMs: number } | undefined;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || /\.test\.ts$|\.d\.ts$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    const { mtimeMs } = await stat(file);
    if (!newest || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
  }
  return newest;
}

/**
 * Throws when an entry point is missing; returns a warning per project whose sources changed after its last
 * build (tsc -b writes `tsconfig.tsbuildinfo` on every build of a project).
 */
export async function checkBuilt(root: string): Promise<string[]> {
  const missing = entryPoints().filter((entry) => !existsSync(join(root, entry.main)));
  if (missing.length > 0) {
    throw new Error(
      `the control plane is not built (${missing.map((entry) => entry.main).join(', ')} missing): run npm run build first`,
    );
  }
  const warnings: string[] = [];
  for (const project of PROJECTS) {
    const built = await stat(join(root, project, 'tsconfig.tsbuildinfo')).catch(() => undefined);
    const newest = await newestSource(join(root, project, 'src'));
    if (built && newest && newest.mtimeMs > built.mtimeMs) {
      warnings.push(`${project}: ${newest.file.slice(root.length + 1)} changed after the last build (npm run build)`);
    }
  }
  return warnings;
}

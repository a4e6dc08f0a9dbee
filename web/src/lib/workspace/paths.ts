/*
 * Paths as the file routes take them: absolute, `/`-separated, within the target's scope (`/` is the pod's volume,
 * or the node's list of allowed roots). These helpers are lexical only; the agent resolves real paths and refuses
 * anything that would leave the scope, whatever the console sends.
 */

/** `/a//b/./c/../d/` → `/a/b/d`; `..` never climbs above `/`. */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `input` as typed by a person: absolute as it is, otherwise relative to the directory `base`. */
export const resolvePath = (base: string, input: string): string =>
  normalizePath(input.startsWith('/') ? input : `${base}/${input}`);

export const joinPath = (dir: string, name: string): string => normalizePath(`${dir}/${name}`);

/** The directory holding `path` (`/` for `/` itself). */
export function parentPath(path: string): string {
  const normal = normalizePath(path);
  return normal.slice(0, normal.lastIndexOf('/')) || '/';
}

export function baseName(path: string): string {
  const normal = normalizePath(path);
  return normal === '/' ? '/' : normal.slice(normal.lastIndexOf('/') + 1);
}

/** Whether `path` is `dir` or lies below it (a directory cannot be moved into itself). */
export function isSameOrInside(path: string, dir: string): boolean {
  const p = normalizePath(path);
  const d = normalizePath(dir);
  return p === d || d === '/' || p.startsWith(`${d}/`);
}

/** Why `name` cannot be a file name (one path component), or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'Enter a name.';
  if (name === '.' || name === '..') return `"${name}" is not a file name.`;
  if (name.includes('/')) return 'A name cannot contain "/".';
  if (name.includes('\0')) return 'A name cannot contain NUL characters.';
  if (new TextEncoder().encode(name).length > 255) return 'A name can be at most 255 bytes long.';
  return undefined;
}

/** `/a/b` → `[{name:'/', path:'/'}, {name:'a', path:'/a'}, {name:'b', path:'/a/b'}]`. */
export function breadcrumbs(path: string): { name: string; path: string }[] {
  const crumbs = [{ name: '/', path: '/' }];
  let current = '';
  for (const part of normalizePath(path).split('/').filter(Boolean)) {
    current += `/${part}`;
    crumbs.push({ name: part, path: current });
  }
  return crumbs;
}

/** An octal mode as the routes take it (`644`, `0755`; never setuid), or undefined. */
export function parseMode(input: string): string | undefined {
  const mode = input.trim();
  return /^0?[0-3]?[0-7]{3}$/.test(mode) ? mode : undefined;
}

/** `rwxr-xr-x` for `755`: how `ls -l` shows it. */
export function modeString(mode: string): string {
  const bits = Number.parseInt(mode.slice(-3), 8);
  if (Number.isNaN(bits)) return mode;
  let out = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const triple = (bits >> shift) & 7;
    out += `${triple & 4 ? 'r' : '-'}${triple & 2 ? 'w' : '-'}${triple & 1 ? 'x' : '-'}`;
  }
  return out;
}

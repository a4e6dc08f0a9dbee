import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/*
 * What the console's build directory (web/build, written by `vite build` with adapter-static) holds and how each
 * path of the site is answered: a file of the build, the single-page app's shell (index.html) for a console route,
 * or nothing (404) for the gateway's own paths, which the shell must never shadow. Pure decisions apart from the
 * directory scan.
 */

/** Paths the gateway answers itself; the console's fallback never answers them, not even for a typo below them. */
const RESERVED = [/^\/api(?:\/|$)/, /^\/agent(?:\/|$)/, /^\/auth\//, /^\/invitations\//, /^\/healthz$/, /^\/pages\//];
/** The console's live socket (console/live-socket.ts) lives here, beside the files. */
export const LIVE_SOCKET_PATH = '/console/live';

export const isReserved = (path: string): boolean =>
  path === LIVE_SOCKET_PATH || RESERVED.some((pattern) => pattern.test(path));

/** Hashed build output never changes under its name: cache it for a year; everything else revalidates. */
export const cacheControlFor = (file: string): string =>
  file.startsWith('_app/immutable/') ? 'public, max-age=31536000, immutable' : 'no-cache';

/** The shell of the app, served for every console route; a file name with an extension is never a route. */
export const SHELL = 'index.html';
const COMPRESSED = /\.(?:gz|br)$/;

export type Answer = { kind: 'file'; file: string } | { kind: 'shell' } | { kind: 'not-found' };

/**
 * How to answer a GET of `path` (already without query): one of the build's files by its exact name (so a path can
 * never reach outside the directory), the shell for anything that looks like a console route, else 404.
 */
export function answerFor(path: string, files: ReadonlySet<string>): Answer {
  if (isReserved(path)) return { kind: 'not-found' };
  const file = path.replace(/^\/+/, '');
  const hidden = file.split('/').some((segment) => segment.startsWith('.'));
  if (file !== '' && files.has(file) && !hidden && !COMPRESSED.test(file)) return { kind: 'file', file };
  // A missing script or stylesheet answered with HTML would only fail later and more obscurely.
  if (file.startsWith('_app/') || /\.[A-Za-z0-9]+$/.test(file)) return { kind: 'not-found' };
  return { kind: 'shell' };
}

/** Every file under `root`, as `/`-separated paths relative to it; empty when the directory does not exist. */
export async function listFiles(root: string): Promise<Set<string>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  return new Set(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/')),
  );
}

/**
 * The Content-Security-Policy of the shell: the gateway's strict default (nothing but same-origin scripts and
 * connections), plus the SHA-256 of each inline script SvelteKit writes into the shell to start the app, and
 * same-origin stylesheets. Inline style *attributes* are allowed (never <style> elements) because SvelteKit's
 * route announcer carries one; scripts stay hash-pinned, which is what keeps injected markup from running.
 */
export function shellCsp(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, body]) =>
      `'sha256-${createHash('sha256')
        .update(body ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export type Shell = { csp: string; mtimeMs: number };

/** The shell's CSP, re-read when index.html changes (a rebuild while the gateway runs); undefined without one. */
export async function readShell(root: string, previous: Shell | undefined): Promise<Shell | undefined> {
  const path = join(root, SHELL);
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (previous && previous.mtimeMs === info.mtimeMs) return previous;
  return { csp: shellCsp(await readFile(path, 'utf8')), mtimeMs: info.mtimeMs };
}

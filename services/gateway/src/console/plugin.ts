import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/context.ts';
import { answerFor, cacheControlFor, listFiles, readShell, SHELL, type Shell } from './files.ts';
import { liveSocketRoute } from './live-socket.ts';

/*
 * The web console, served by the gateway: the files `vite build` wrote to web/build (hashed assets cached for a
 * year, everything else revalidated, gzip/brotli variants when the browser takes them), the app's shell for every
 * console route (the single-page app routes in the browser), and the live socket that pushes changes to it. The
 * gateway's own paths (/api, /agent, /auth/…, /invitations/…, /healthz) are never answered with the shell.
 */

/** web/build, from this file in src/console or dist/console alike. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../../web/build', import.meta.url));
/** How often a request for a file the build does not list may rescan the directory (a rebuild under a running gateway). */
const RESCAN_MS = 2_000;

export type ConsoleDeps = ApiDeps & { consoleDir?: string };

const notBuilt = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>AgentPod</title></head>
<body><h1>AgentPod</h1><p>The web console is not built: run <code>npm run build</code> (or use the
<code>agentpod</code> CLI).</p></body>
</html>
`;

export const consoleRoutes =
  (deps: ConsoleDeps): FastifyPluginAsync =>
  async (app) => {
    const root = deps.consoleDir ?? DEFAULT_CONSOLE_DIR;
    let files = await listFiles(root);
    let scannedAt = Date.now();
    let shell: Shell | undefined = await readShell(root, undefined);
    if (!shell) deps.logger.warn({ root }, 'the web console is not built (npm run build); / explains how');

    // sendFile only: the routes below decide which paths are files, so nothing outside the listing is ever read.
    app.register(fastifyStatic, { root, serve: false, preCompressed: true, cacheControl: false, etag: true });
    app.register(liveSocketRoute(deps));

    // Concurrent misses (a page preloading a new build's chunks) share one scan.
    let scanning: Promise<void> | undefined;
    const rescan = (): Promise<void> => {
      if (scanning) return scanning;
      if (Date.now() - scannedAt < RESCAN_MS) return Promise.resolve();
      scannedAt = Date.now();
      scanning = listFiles(root)
        .then((listed) => {
          files = listed;
        })
        .finally(() => {
          scanning = undefined;
        });
      return scanning;
    };

    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = new URL(request.url, 'http://console').pathname;
      let answer = answerFor(path, files);
      if (answer.kind === 'not-found' && path.startsWith('/_app/')) {
        await rescan();
        answer = answerFor(path, files);
      }
      switch (answer.kind) {
        case 'not-found':
          return reply.callNotFound();
        case 'file':
          reply.header('cache-control', cacheControlFor(answer.file));
          return reply.sendFile(answer.file);
        case 'shell': {
          shell = await readShell(root, shell);
          if (!shell) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(notBuilt);
          // The shell names the current build's assets, so it is never cached without asking.
          reply.header('cache-control', 'no-cache').header('content-security-policy', shell.csp);
          return reply.sendFile(SHELL);
        }
        default: {
          const unknown: never = answer;
          throw new Error(`unknown answer ${JSON.stringify(unknown)}`);
        }
      }
    };
    app.get('/*', serve);
  };

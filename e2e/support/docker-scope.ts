import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { PodLabels } from '@agentpod/contracts';

/*
 * The Docker Engine as one test's agent may see it: a pass-through proxy on a Unix socket of its own that hides
 * every AgentPod container of other tenants from the container list and the event stream. Everything else (create,
 * start, inspect, logs, volumes…) goes to the real engine unchanged.
 *
 * Why: an agent reports every AgentPod-labelled container on its engine, and the reconciler removes those of pods
 * it does not know as orphans. Without this, the test's control plane would remove the containers of every other
 * test (and of a developer's `npm start`) that shares this machine's engine. The agent has no setting to manage
 * only some containers; in production one engine has one control plane.
 */

const UPSTREAM = '/var/run/docker.sock';

export type DockerScope = {
  /** The socket to give the agent (AGENTPOD_DOCKER_SOCKET). */
  socketPath: string;
  stop(): Promise<void>;
};

type DockerContainer = { Labels?: Record<string, string> | null };
type DockerEvent = { Type?: string; Actor?: { Attributes?: Record<string, string> } };

/** The request's path without the API version prefix (`/v1.47/containers/json` → `/containers/json`). */
const routeOf = (url: string | undefined) => new URL(url ?? '/', 'http://docker').pathname.replace(/^\/v[0-9.]+/, '');

export async function startDockerScope(dir: string, tenants: readonly string[]): Promise<DockerScope> {
  const visible = (labels: Record<string, string> | null | undefined) => {
    if (!labels || labels[PodLabels.pod] === undefined) return true; // not AgentPod's: the agent ignores it anyway
    return tenants.includes(labels[PodLabels.tenant] ?? '');
  };

  const shown = (line: string) => {
    let event: DockerEvent;
    try {
      event = JSON.parse(line) as DockerEvent;
    } catch {
      return true; // not ours to judge: the agent sees what the engine sent
    }
    return event.Type !== 'container' || visible(event.Actor?.Attributes);
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const route = req.method === 'GET' ? routeOf(req.url) : '';
    const upstream = request(
      { socketPath: UPSTREAM, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        const filtered = route === '/containers/json' || route === '/events';
        const headers = { ...answer.headers };
        if (filtered) delete headers['content-length'];
        res.writeHead(answer.statusCode ?? 502, headers);
        if (!filtered || (answer.statusCode ?? 500) >= 300) return void answer.pipe(res);
        if (route === '/containers/json') {
          let body = '';
          answer.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          answer.on('end', () => {
            const containers = JSON.parse(body) as DockerContainer[];
            res.end(JSON.stringify(containers.filter((c) => visible(c.Labels))));
          });
          return;
        }
        // The event stream: one JSON object per line, for as long as the agent keeps it open.
        let buffer = '';
        answer.setEncoding('utf8').on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
            const line = buffer.slice(0, end + 1);
            buffer = buffer.slice(end + 1);
            if (shown(line)) res.write(line);
          }
        });
        answer.on('end', () => res.end(buffer));
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `docker scope: ${error.message}` }));
    });
    // The agent hanging up (a followed log or the event stream ends) ends the upstream request too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };

  const server = createServer(forward);
  const hijacked = new Set<Socket>();
  // Hijacked connections (attach, exec) are piped through as raw bytes once the request head is replayed.
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const upstream = connect(UPSTREAM, () => {
      hijacked.add(upstream);
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('close', () => hijacked.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });

  const socketPath = join(dir, 'docker.sock');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of hijacked) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/*
 * The benchmark's agent reaches Docker through this filter instead of /var/run/docker.sock. The machine is shared:
 * other test runs create AgentPod-labelled containers at the same time, and an agent reports every labelled
 * container of its Docker Engine, so the benchmark's reconciler would see theirs as orphans and remove them (and
 * its measurements would count them). The view hides every container whose labels `visible` refuses, in the two
 * places an agent learns about containers: the list (`GET /containers/json`) and the event stream
 * (`GET /events`). Everything else passes through untouched, on kept-alive connections, so a Docker call costs
 * one local hop more and nothing else.
 */

export type DockerView = {
  socketPath: string;
  close(): Promise<void>;
};

type Labels = Record<string, string>;

const LIST = /^(?:\/v[0-9.]+)?\/containers\/json(?:\?|$)/;
const EVENTS = /^(?:\/v[0-9.]+)?\/events(?:\?|$)/;

/** One JSON document per line, as Docker streams events; the lines of containers not in view are dropped. */
class EventFilter extends Transform {
  #pending = '';
  readonly #visible: (labels: Labels) => boolean;
  constructor(visible: (labels: Labels) => boolean) {
    super();
    this.#visible = visible;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#pending += chunk.toString('utf8');
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop() ?? '';
    const kept = lines.filter((line) => this.#keeps(line));
    done(null, kept.length > 0 ? `${kept.join('\n')}\n` : undefined);
  }
  override _flush(done: TransformCallback): void {
    done(null, this.#pending !== '' && this.#keeps(this.#pending) ? this.#pending : undefined);
  }
  #keeps(line: string): boolean {
    if (line.trim() === '') return false;
    try {
      const event = JSON.parse(line) as { Type?: string; Actor?: { Attributes?: Labels } };
      return event.Type !== 'container' || this.#visible(event.Actor?.Attributes ?? {});
    } catch {
      return true; // not an event we understand: the agent decides what to do with it
    }
  }
}

function headersWithout(headers: IncomingMessage['headers'], ...names: string[]): IncomingMessage['headers'] {
  const copy = { ...headers };
  for (const name of names) delete copy[name];
  return copy;
}

/** Serves a filtered view of `upstream` (Docker's socket) on `socketPath`. */
export async function startDockerView(options: {
  socketPath: string;
  upstream: string;
  visible: (labels: Labels) => boolean;
}): Promise<DockerView> {
  const { upstream, visible } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const path = incoming.url ?? '/';
    const upstreamRequest = request(
      { socketPath: upstream, path, method: incoming.method, headers: incoming.headers, agent },
      (answer) => {
        const status = answer.statusCode ?? 502;
        if (incoming.method === 'GET' && LIST.test(path) && status === 200) {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const all = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Labels?: Labels }[];
            const body = JSON.stringify(all.filter((container) => visible(container.Labels ?? {})));
            outgoing.writeHead(status, {
              ...headersWithout(answer.headers, 'content-length', 'transfer-encoding'),
              'content-length': Buffer.byteLength(body),
            });
            outgoing.end(body);
          });
          answer.on('error', (error) => outgoing.destroy(error));
          return;
        }
        if (incoming.method === 'GET' && EVENTS.test(path) && status === 200) {
          outgoing.writeHead(status, headersWithout(answer.headers, 'content-length'));
          outgoing.flushHeaders();
          pipeline(answer, new EventFilter(visible), outgoing).catch(() => outgoing.destroy());
          return;
        }
        outgoing.writeHead(status, answer.headers);
        pipeline(answer, outgoing).catch(() => outgoing.destroy());
      },
    );
    upstreamRequest.on('error', (error) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'application/json' });
      outgoing.end(JSON.stringify({ message: `docker view: ${error.message}` }));
    });
    // A client that goes away early (the agent aborting an event stream) ends the upstream request too.
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) upstreamRequest.destroy();
    });
    pipeline(incoming, upstreamRequest).catch(() => upstreamRequest.destroy());
  };

  const server = createServer({ keepAliveTimeout: 60_000 }, forward);
  // Hijacked connections (`docker exec` / attach: `Upgrade: tcp`) are raw bytes both ways once the request head
  // is replayed upstream; without this an exec through the view would never start.
  const hijacked = new Set<Socket>();
  server.on('upgrade', (incoming: IncomingMessage, socket: Socket, head: Buffer) => {
    const direct = connect(upstream, () => {
      hijacked.add(direct);
      const lines = [`${incoming.method} ${incoming.url} HTTP/${incoming.httpVersion}`];
      for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
        lines.push(`${incoming.rawHeaders[i]}: ${incoming.rawHeaders[i + 1]}`);
      }
      direct.write(`${lines.join('\r\n')}\r\n\r\n`);
      direct.write(head);
      direct.pipe(socket).pipe(direct);
    });
    direct.on('close', () => hijacked.delete(direct));
    direct.on('error', () => socket.destroy());
    socket.on('error', () => direct.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => resolve());
  });
  return {
    socketPath: options.socketPath,
    async close() {
      for (const socket of hijacked) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request (headers and the raw
 * body, as a receiver verifies signatures on the exact bytes) and answers with the statuses it is told to, 200
 * once they run out.
 */

export type Received = { path: string; headers: IncomingHttpHeaders; body: string };

export type Receiver = {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: Received[];
  /** The next answers, in order (e.g. 500, 500): each request takes one; then 200 again. */
  answerNext(...statuses: number[]): void;
  close(): Promise<void>;
};

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const answers: number[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.statusCode = answers.shift() ?? 200;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answerNext: (...statuses) => answers.push(...statuses),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

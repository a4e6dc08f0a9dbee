import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { defineBenchmark, median, round3 } from './harness.ts';
import { startWorkspaceBench } from './support/workspace.ts';

/*
 * A file into a pod's volume and back through the REST file routes: streamed HTTP body → gateway → NATS (base64
 * chunks, 4 MiB window) → agent → temporary file renamed into place; and the download the same way back. Against
 * a local copy of the same file with streams (read → write), in this process. Bytes are checked (sha256) once.
 */

const FILE_MB = 100;
const ROUNDS = 3;
const MB = 1_000_000;

export default defineBenchmark({
  name: 'file-transfer',
  description: 'upload + download MB/s through gateway → NATS → agent → pod volume vs a local file copy',
  async run(context) {
    const { log, defer, signal } = context;
    const bench = await startWorkspaceBench(context);
    const dir = await mkdtemp(join(tmpdir(), 'agentpod-bench-files-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const source = join(dir, 'source.bin');
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < FILE_MB; i++) yield randomBytes(MB);
        })(),
      ),
      createWriteStream(source),
    );
    const expected = createHash('sha256');
    await pipeline(createReadStream(source), expected);
    const digest = expected.digest('hex');
    const url = (path: string) => `${bench.stack.url}${bench.podPath}/files/content?path=${encodeURIComponent(path)}`;
    const auth = { authorization: `Bearer ${bench.token}` };

    const upload = async () => {
      const started = performance.now();
      const response = await fetch(url('/transfer.bin'), {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(FILE_MB * MB) },
        body: Readable.toWeb(createReadStream(source)) as ReadableStream,
        duplex: 'half',
        signal,
      } as RequestInit);
      const text = await response.text();
      if (response.status !== 201) throw new Error(`upload: ${response.status} ${text}`);
      return FILE_MB / ((performance.now() - started) / 1000);
    };
    const download = async (check: boolean) => {
      const started = performance.now();
      const response = await fetch(url('/transfer.bin'), { headers: auth, signal });
      if (response.status !== 200 || !response.body) throw new Error(`download: ${response.status}`);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of response.body) {
        bytes += chunk.length;
        if (check) hash.update(chunk);
      }
      if (bytes !== FILE_MB * MB) throw new Error(`download: ${bytes} bytes`);
      if (check && hash.digest('hex') !== digest) throw new Error('download: the bytes differ from the upload');
      return FILE_MB / ((performance.now() - started) / 1000);
    };
    const localCopy = async () => {
      const started = performance.now();
      await pipeline(createReadStream(source), createWriteStream(join(dir, 'copy.bin')));
      return FILE_MB / ((performance.now() - started) / 1000);
    };

    const ups: number[] = [];
    const downs: number[] = [];
    const copies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (signal.aborted) throw new Error('interrupted');
      copies.push(await localCopy());
      ups.push(await upload());
      downs.push(await download(round === 0));
      log(
        `round ${round + 1}: local copy ${copies.at(-1)?.toFixed(0)}, upload ${ups.at(-1)?.toFixed(1)}, download ${downs.at(-1)?.toFixed(1)} MB/s`,
      );
    }
    await bench.stack.assertRunning();
    // Both directions as one figure: the harmonic mean (the rate of an upload followed by a download).
    const up = median(ups);
    const down = median(downs);
    const value = 2 / (1 / up + 1 / down);
    const baseline = median(copies);
    const shown = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');
    return {
      value: round3(value),
      unit: 'MB/s',
      baseline: round3(baseline),
      ratio: round3(value / baseline),
      notes:
        `${FILE_MB} MB of random bytes, ${ROUNDS} rounds, median. Upload ${up.toFixed(1)} MB/s (${shown(ups)}), ` +
        `download ${down.toFixed(1)} MB/s (${shown(downs)}); value = harmonic mean of the two. Baseline: a local ` +
        `stream copy of the same file (${shown(copies)} MB/s, page cache warm). Bytes checked by sha256 once.`,
    };
  },
});

import { Transform } from 'node:stream';
import { podRef } from '@agentpod/contracts';
import { usageError } from '../args.ts';
import type { Writer } from '../output.ts';
import { podRefArg } from './pod-flags.ts';

/*
 * What the `files` commands share: `<tenant>/<pod>:<path>` references, byte sizes for people, and the progress
 * line of a long transfer.
 */

export type FileRef = { tenant: string; pod: string; path: string };

export const FILE_REF_LABELS = { tenant: '<tenant>/<pod>', pod: '<tenant>/<pod>', path: '<path>' };

/**
 * `acme/web:/data/app.json` → its pod and path. The path is within the pod's volume, `/` its top; a relative one
 * (`acme/web:data`) is taken from there. `optionalPath` allows `acme/web` alone, meaning `/`.
 */
export function parseFileRef(text: string, options: { optionalPath?: boolean } = {}): FileRef {
  const colon = text.indexOf(':');
  if (colon < 0 && !options.optionalPath) {
    throw usageError(`invalid ${JSON.stringify(text)}: must be <tenant>/<pod>:<path>, e.g. acme/web:/data/app.json`);
  }
  const key = podRefArg(colon < 0 ? text : text.slice(0, colon));
  return { tenant: key.tenantId, pod: key.podId, path: volumePath(colon < 0 ? '' : text.slice(colon + 1)) };
}

/** A path as given → absolute within the volume (`data/x` → `/data/x`, empty → `/`). */
export const volumePath = (given: string): string => (given === '' ? '/' : given.startsWith('/') ? given : `/${given}`);

export const formatRef = (ref: FileRef): string => `${podRef(ref.tenant, ref.pod)}:${ref.path}`;

/** The last component of a path (`/` for the top). */
export const baseName = (path: string): string => path.replace(/\/+$/, '').split('/').pop() || '/';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → `1.5 KiB`; exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Transfers smaller than this show no progress line. */
const PROGRESS_FROM_BYTES = 8 * 1024 * 1024;
const PROGRESS_EVERY_MS = 250;

/**
 * A pass-through that counts bytes and, on a terminal, redraws one progress line on stderr (`\r`); nothing on a
 * pipe or for small transfers, so scripts and logs stay clean. `finish()` ends the line.
 */
export function progress(
  stderr: Writer,
  label: string,
  total: number | undefined,
): { meter: Transform; bytes: () => number; finish: () => void } {
  const shown = (stderr as { isTTY?: boolean }).isTTY === true && (total === undefined || total >= PROGRESS_FROM_BYTES);
  const started = performance.now();
  let bytes = 0;
  let drawn = 0;
  let drew = false;
  const draw = () => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? `${formatBytes(bytes / seconds)}/s` : '';
    const of =
      total === undefined ? '' : ` / ${formatBytes(total)} (${Math.floor((bytes / Math.max(total, 1)) * 100)}%)`;
    stderr.write(`\r\u001b[K${label}  ${formatBytes(bytes)}${of}  ${rate}`);
    drew = true;
  };
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      const now = performance.now();
      if (shown && (now - drawn >= PROGRESS_EVERY_MS || bytes === total)) {
        drawn = now;
        draw();
      }
      done(null, chunk);
    },
  });
  return {
    meter,
    bytes: () => bytes,
    finish() {
      if (!drew) return;
      draw();
      stderr.write('\n');
    },
  };
}

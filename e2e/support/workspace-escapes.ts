import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * Ways out of a pod's volume through the file routes, for the workspace e2e test: `..` in every position, symbolic
 * links (made inside the container, where their targets look harmless) pointing at the host's root, /etc, upwards
 * or at a host directory, writes and moves through them, NUL bytes, over-long names, relative paths, and tar
 * archives whose entries climb out. Every one must be refused and leave the volume and the host as they were.
 */

export type EscapeAttempt = {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Below the pod's path (`/api/v1/tenants/<t>/pods/<p>`), with its query. */
  path: string;
  body?: string | Uint8Array;
  contentType?: string;
};

/**
 * A host directory with a secret in it, and in the volume (through `exec`, a shell in the pod's container): a
 * directory with a file to keep, and links out of the volume.
 */
export async function prepareEscapes(options: {
  outside: string;
  exec: (script: string) => Promise<string>;
}): Promise<void> {
  await mkdir(options.outside, { recursive: true });
  await writeFile(join(options.outside, 'secret.txt'), 'host secret\n', { mode: 0o600 });
  await options.exec(
    [
      'mkdir -p /data/dir',
      'echo keep > /data/dir/keep.txt',
      'ln -s / /data/rootlink',
      'ln -s /etc /data/etclink',
      'ln -s ../../../../../../.. /data/dir/uplink',
      `ln -s ${options.outside} /data/hostlink`,
      `ln -s ${options.outside}/secret.txt /data/secretlink`,
      'echo prepared',
    ].join(' && '),
  );
}

/** A minimal ustar archive (files and symbolic links), to send archives no well-behaved tool would make. */
export function tarOf(entries: readonly { name: string; content?: string; link?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    const header = Buffer.alloc(512);
    const put = (text: string, offset: number, length: number) => header.write(text, offset, length, 'utf8');
    const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
    put(entry.name, 0, 100);
    put(octal(0o644, 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(entry.link ? 0 : content.length, 12), 124, 12);
    put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
    put('        ', 148, 8);
    put(entry.link ? '2' : '0', 156, 1);
    if (entry.link) put(entry.link, 157, 100);
    put('ustar\u000000', 257, 8);
    const sum = header.reduce((total, byte) => total + byte, 0);
    put(`${octal(sum, 7)}\u0000 `, 148, 8);
    blocks.push(header);
    if (!entry.link && content.length > 0) {
      blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const q = (path: string) => encodeURIComponent(path);

/** The attempts; `marker` names what an escape would create (`/escaped-<marker>` on the host must not appear). */
export function escapeAttempts(outside: string, marker: string): EscapeAttempt[] {
  const list = (path: string) => ({ method: 'GET' as const, path: `/files?path=${q(path)}` });
  const read = (path: string) => ({ method: 'GET' as const, path: `/files/content?path=${q(path)}` });
  const write = (path: string, extra = '') => ({
    method: 'POST' as const,
    path: `/files/content?path=${q(path)}${extra}`,
    body: 'escaped\n',
    contentType: 'application/octet-stream',
  });
  const json = (route: string, body: unknown) => ({
    method: 'POST' as const,
    path: `/files/${route}`,
    body: JSON.stringify(body),
  });
  const escaped = `escaped-${marker}`;
  return [
    { name: 'list /..', ...list('/..') },
    { name: 'list /../../../../etc', ...list('/../../../../etc') },
    { name: 'read /../../../../etc/passwd', ...read('/../../../../etc/passwd') },
    { name: 'read /dir/../../../etc/passwd', ...read('/dir/../../../etc/passwd') },
    { name: 'list a link to the host root', ...list('/rootlink') },
    { name: 'read through a link to the host root', ...read('/rootlink/etc/passwd') },
    { name: 'read through a link to /etc', ...read('/etclink/passwd') },
    { name: 'read through a relative link upwards', ...read('/dir/uplink/etc/passwd') },
    { name: 'list a link to a host directory', ...list('/hostlink') },
    { name: 'read a link to a host file', ...read('/secretlink') },
    { name: 'write through a link to a host directory', ...write(`/hostlink/${escaped}`) },
    { name: 'write through a link to the host root', ...write(`/rootlink/tmp/${escaped}`) },
    { name: 'write to /../', ...write(`/../${escaped}`) },
    { name: 'write over a link to a host file', ...write('/secretlink') },
    { name: 'mkdir through a link to the host root', ...json('mkdir', { path: `/rootlink/${escaped}` }) },
    { name: 'move a file out through a link', ...json('move', { from: '/dir/keep.txt', to: '/hostlink/moved.txt' }) },
    { name: 'move a host file in through a link', ...json('move', { from: '/hostlink/secret.txt', to: '/stolen' }) },
    { name: 'delete a host file through a link', method: 'DELETE', path: `/files?path=${q('/hostlink/secret.txt')}` },
    { name: 'delete /.. recursively', method: 'DELETE', path: `/files?path=${q('/..')}&recursive=true` },
    { name: 'chmod a host file through a link', ...json('chmod', { path: '/hostlink/secret.txt', mode: '777' }) },
    { name: 'chmod a link to a host file', ...json('chmod', { path: '/secretlink', mode: '777' }) },
    { name: 'a NUL byte in the path', ...read('/dir/keep.txt\u0000.png') },
    { name: 'a component of 256 bytes', ...list(`/${'a'.repeat(256)}`) },
    { name: 'a relative path', ...read('dir/keep.txt') },
    {
      name: 'a tar whose entry climbs out with ..',
      ...write('/dir', '&extract=tar'),
      body: tarOf([
        { name: 'fine.txt', content: 'fine' },
        { name: `../../${escaped}`, content: 'x' },
      ]),
    },
    {
      name: 'a tar with an absolute entry',
      ...write('/dir', '&extract=tar'),
      body: tarOf([{ name: `${outside}/${escaped}`, content: 'x' }]),
    },
    {
      name: 'a tar with a link out, then a file through it',
      ...write('/dir', '&extract=tar'),
      body: tarOf([
        { name: 'out', link: outside },
        { name: `out/${escaped}`, content: 'x' },
      ]),
    },
  ];
}

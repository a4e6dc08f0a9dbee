import type { FileEntry, FileListing } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { clean, EXIT, formatTable, formatTime } from '../output.ts';
import { FILE_REF_LABELS, formatBytes, formatRef, parseFileRef, volumePath } from './files-ref.ts';
import { filesGetCommand, filesPutCommand } from './files-transfer.ts';

/*
 * `files ls|rm|mkdir|mv|chmod`: a pod's volume, through the gateway's file routes and the node's agent, which
 * keeps every path inside the volume. get and put (streamed) live in files-transfer.ts.
 */

const REF_HELP = '<tenant>/<pod>:<path> names a path in the pod’s volume; / is its top.';

const paramsOf = (ref: { tenant: string; pod: string }) => ({ tenant: ref.tenant, pod: ref.pod });

function entryName(entry: FileEntry): string {
  const name = entry.type === 'dir' ? `${entry.name}/` : entry.name;
  return entry.type === 'symlink' && entry.target !== undefined ? `${name} -> ${entry.target}` : name;
}

export function formatListing(listing: FileListing): string {
  if (listing.entries.length === 0) return `${clean(listing.path)}: empty\n`;
  const rows = listing.entries.map((e) => [
    e.type,
    e.mode,
    e.type === 'dir' ? '-' : formatBytes(e.size),
    formatTime(e.modifiedAt),
    entryName(e),
  ]);
  const table = formatTable(['type', 'mode', 'size', 'modified', 'name'], rows);
  return listing.truncated ? `${table}(listing truncated: the directory has more entries)\n` : table;
}

export const filesLsCommand = defineCommand({
  path: ['files', 'ls'],
  summary: 'List a directory in a pod’s volume',
  args: ['tenant/pod:path'],
  details: `${REF_HELP} Without :<path>, the top.`,
  async run(ctx, { args }) {
    const ref = parseFileRef(args['tenant/pod:path'], { optionalPath: true });
    const listing = await (await ctx.client()).call(
      'listPodFiles',
      { params: paramsOf(ref), query: { path: ref.path } },
      { labels: FILE_REF_LABELS },
    );
    ctx.out.result(listing, () => formatListing(listing));
    return EXIT.ok;
  },
});

export const filesRmCommand = defineCommand({
  path: ['files', 'rm'],
  summary: 'Delete a file, or a directory (-r when it is not empty)',
  args: ['tenant/pod:path'],
  options: { recursive: { type: 'boolean', short: 'r', description: 'a directory with everything in it' } },
  details: REF_HELP,
  async run(ctx, { args, options }) {
    const ref = parseFileRef(args['tenant/pod:path']);
    if (ref.path === '/') throw usageError('refusing to delete the top of the volume');
    await (await ctx.client()).call(
      'deletePodFile',
      { params: paramsOf(ref), query: { path: ref.path, recursive: options.recursive ? 'true' : 'false' } },
      { labels: FILE_REF_LABELS },
    );
    ctx.out.result({ path: ref.path, deleted: true }, () => `deleted ${clean(formatRef(ref))}\n`);
    return EXIT.ok;
  },
});

export const filesMkdirCommand = defineCommand({
  path: ['files', 'mkdir'],
  summary: 'Create a directory',
  args: ['tenant/pod:path'],
  options: {
    parents: { type: 'boolean', short: 'p', description: 'create missing parents too; no error if it exists' },
  },
  details: REF_HELP,
  async run(ctx, { args, options }) {
    const ref = parseFileRef(args['tenant/pod:path']);
    const entry = await (await ctx.client()).call(
      'mkdirPodFile',
      { params: paramsOf(ref), body: { path: ref.path, parents: options.parents === true } },
      { labels: FILE_REF_LABELS },
    );
    ctx.out.result(entry, () => `created ${clean(formatRef({ ...ref, path: entry.path }))}/\n`);
    return EXIT.ok;
  },
});

export const filesMvCommand = defineCommand({
  path: ['files', 'mv'],
  summary: 'Rename or move a file or directory within a pod’s volume',
  args: ['tenant/pod:from', 'to'],
  options: { force: { type: 'boolean', short: 'f', description: 'replace what is at <to>' } },
  details: `${REF_HELP} <to> is a path in the same volume (or the same <tenant>/<pod>:<path>).`,
  async run(ctx, { args, options }) {
    const from = parseFileRef(args['tenant/pod:from']);
    const to = args.to.includes(':') ? parseFileRef(args.to) : { ...from, path: volumePath(args.to) };
    if (to.tenant !== from.tenant || to.pod !== from.pod) {
      throw usageError('mv moves within one pod’s volume: <to> must be a path of the same pod');
    }
    const entry = await (await ctx.client()).call(
      'movePodFile',
      { params: paramsOf(from), body: { from: from.path, to: to.path, overwrite: options.force === true } },
      { labels: { ...FILE_REF_LABELS, from: '<from>', to: '<to>' } },
    );
    ctx.out.result(entry, () => `moved ${clean(formatRef(from))} to ${clean(entry.path)}\n`);
    return EXIT.ok;
  },
});

export const filesChmodCommand = defineCommand({
  path: ['files', 'chmod'],
  summary: 'Change a file’s mode (octal, e.g. 644 or 0755)',
  args: ['mode', 'tenant/pod:path'],
  details: REF_HELP,
  async run(ctx, { args }) {
    const ref = parseFileRef(args['tenant/pod:path']);
    const entry = await (await ctx.client()).call(
      'chmodPodFile',
      { params: paramsOf(ref), body: { path: ref.path, mode: args.mode } },
      { labels: { ...FILE_REF_LABELS, mode: '<mode>' } },
    );
    ctx.out.result(entry, () => `${clean(formatRef(ref))} is now ${clean(entry.mode)}\n`);
    return EXIT.ok;
  },
});

export const filesCommands = [
  filesLsCommand,
  filesGetCommand,
  filesPutCommand,
  filesRmCommand,
  filesMkdirCommand,
  filesMvCommand,
  filesChmodCommand,
];

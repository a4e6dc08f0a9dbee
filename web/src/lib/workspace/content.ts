import type { FileEntry } from '@agentpod/contracts';
import { bytes } from '../format.ts';

/*
 * What the editor may open and what a save's answer means. The editor holds whole files in memory and CodeMirror
 * would render a binary as mojibake; both are refused with a way to download instead.
 */

/** Files larger than this are offered for download, never opened in the editor. */
export const EDITOR_MAX_BYTES = 2 * 1024 * 1024;
/** How far into a file a NUL byte marks it as binary (what git and grep look at). */
const SNIFF_BYTES = 8000;

/** Why this entry cannot be opened in the editor (from its listing alone), or undefined. */
export function editorRefusal(entry: Pick<FileEntry, 'type' | 'size'>): string | undefined {
  if (entry.type === 'dir') return 'This is a directory.';
  if (entry.type !== 'file') return 'Only regular files open in the editor.';
  if (entry.size > EDITOR_MAX_BYTES)
    return `This file is ${bytes(entry.size)}; the editor opens files up to ${bytes(EDITOR_MAX_BYTES)}. Download it instead.`;
  return undefined;
}

/** The file's text, or undefined when it is binary (a NUL byte early on, or not valid UTF-8). */
export function decodeText(content: Uint8Array): string | undefined {
  if (content.subarray(0, SNIFF_BYTES).includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(content);
  } catch {
    return undefined;
  }
}

/** A version as an entity tag (`If-Match: "<version>"`), and back from an `ETag` header. */
export const entityTag = (version: string): string => `"${version.replaceAll('"', '')}"`;
export function versionOfTag(tag: string | null): string | undefined {
  if (!tag) return undefined;
  const match = /^(?:W\/)?"(.*)"$/.exec(tag.trim());
  return match ? match[1] : tag.trim();
}

/** How a save ended, from the HTTP status of the upload. */
export type SaveOutcome = 'saved' | 'conflict' | 'failed';
export function saveOutcome(status: number): SaveOutcome {
  if (status >= 200 && status < 300) return 'saved';
  // 409 is the contract's answer to a stale If-Match; 412 is what HTTP itself calls it.
  if (status === 409 || status === 412) return 'conflict';
  return 'failed';
}

/**
 * What a tab's save status says (data-testid="save-status"). `dirty`: the text differs from what was last read
 * or saved; `phase`: where the last save is.
 */
export type SavePhase =
  | { kind: 'idle' }
  | { kind: 'saving' }
  | { kind: 'saved' }
  | { kind: 'conflict' }
  | { kind: 'failed'; message: string };

export function saveStatus(dirty: boolean, phase: SavePhase): string {
  switch (phase.kind) {
    case 'saving':
      return 'Saving…';
    case 'conflict':
      return 'Changed on disk since you opened it: not saved';
    case 'failed':
      return `Not saved: ${phase.message}`;
    case 'saved':
      return dirty ? 'Unsaved changes' : 'Saved';
    case 'idle':
      return dirty ? 'Unsaved changes' : 'No changes';
    default: {
      const never: never = phase;
      return never;
    }
  }
}

/**
 * The conflict's two ways out. Reload: read the file again (the disk wins; the tab's edits are dropped, so the
 * banner says so). Overwrite: save again without If-Match (this tab wins; whatever changed on disk is replaced).
 */
export type ConflictChoice = 'reload' | 'overwrite';
export function conflictPlan(choice: ConflictChoice): { read: boolean; write: boolean; ifMatch: boolean } {
  return choice === 'reload'
    ? { read: true, write: false, ifMatch: false }
    : { read: false, write: true, ifMatch: false };
}

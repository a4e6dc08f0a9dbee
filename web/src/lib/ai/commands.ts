import type { Command } from './turn.ts';

/*
 * Which code blocks of an answer are commands for a shell (and so get "Run in terminal"), and the suggested
 * commands (`done.commands`) not already shown as such a block. Commands are kept verbatim: what the model wrote
 * is what the person reviews and what is typed.
 */

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'zsh', 'console', 'shell-session', 'shellsession']);

/** Whether a fence's info string (```bash title="x" → "bash") marks a shell command. */
export const isShellFence = (info: string): boolean =>
  SHELL_LANGUAGES.has((info.trim().split(/\s+/)[0] ?? '').toLowerCase());

/** A fence's content (or a suggested command) as typed: trailing newlines removed, nothing else changed. */
export const commandText = (content: string): string => content.replace(/[\r\n]+$/, '');

/** The suggested commands that no shell block of the answer already shows (same text, ignoring edge spaces). */
export function extraCommands(suggested: readonly Command[], shellBlocks: readonly string[]): Command[] {
  const shown = new Set(shellBlocks.map((block) => block.trim()));
  const seen = new Set<string>();
  return suggested.filter(({ command }) => {
    const key = command.trim();
    if (key === '' || shown.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

import type { SuggestedCommand } from '@agentpod/contracts';
import type { z } from 'zod';

/*
 * The commands an answer suggests: its fenced ```sh / ```bash / ```shell / ```console blocks, verbatim (a
 * `console` block's `$ ` prompts removed), each with the sentence before it as its explanation. They are text for
 * the console's "Run in terminal" button: this service never runs anything. Pure.
 */

type Suggested = z.infer<typeof SuggestedCommand>;

const FENCE = /(^|\n)[ \t]*```[ \t]*(sh|bash|shell|zsh|console)[ \t]*\n([\s\S]*?)\n[ \t]*```/g;
const MAX_COMMANDS = 20;
const MAX_COMMAND = 4096;
const MAX_EXPLANATION = 2000;

/** The last non-empty line before `index`, as an explanation (markdown markers removed). */
function explanationBefore(text: string, index: number): string {
  const lines = text.slice(0, index).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? '').trim();
    if (line.startsWith('```')) break;
    if (line) return line.replace(/^([-*+]|\d+[.)]|#+)\s+/, '').slice(0, MAX_EXPLANATION);
  }
  return '';
}

export function suggestedCommands(answer: string): Suggested[] {
  const found: Suggested[] = [];
  for (const match of answer.matchAll(FENCE)) {
    const [, lead = '', language, body = ''] = match;
    let command = body.replace(/\s+$/, '');
    if (language === 'console') {
      command = command
        .split('\n')
        .filter((line) => /^\s*[$#] /.test(line))
        .map((line) => line.replace(/^\s*[$#] /, ''))
        .join('\n');
    }
    command = command.replace(/^\n+/, '');
    if (!command.trim() || command.length > MAX_COMMAND) continue;
    found.push({ command, explanation: explanationBefore(answer, (match.index ?? 0) + lead.length) });
    if (found.length >= MAX_COMMANDS) break;
  }
  return found;
}

import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import { targetKey, type WorkspaceTarget } from './target.ts';

/*
 * The terminals open on this page, by target, so other parts of the console (the AI assistant's "run this
 * command") can type into the right one. A command for a target without a running terminal is kept and the
 * target's workspace is asked to open one (Workspace.svelte shows its Terminal tab); the terminal types it once
 * it is ready. Typing means exactly what a person's keystrokes would: the text, then Enter.
 */

export type TerminalHandle = {
  /** Whether the shell runs and takes input. */
  readonly ready: boolean;
  /** Sends `text` + Enter; false when the terminal is not running. */
  type(text: string): boolean;
  focus(): void;
  /** Puts `text` on the command line as a paste, without Enter; false when the terminal is not running. */
  paste?(text: string): boolean;
  /** Whether the shell asked for bracketed paste: a pasted newline then waits for Enter instead of running a line. */
  readonly bracketedPaste?: boolean;
};

class Terminals {
  readonly #handles = new SvelteMap<string, TerminalHandle>();
  readonly #pending = new Map<string, string[]>();
  /** Targets whose workspace should show its terminal (a command is waiting for one). */
  readonly wanted = new SvelteSet<string>();

  /** Called by a Terminal once it is mounted; returns the detach function for its destruction. */
  attach(target: WorkspaceTarget, handle: TerminalHandle): () => void {
    const key = targetKey(target);
    this.#handles.set(key, handle);
    return () => {
      if (this.#handles.get(key) === handle) this.#handles.delete(key);
    };
  }

  get(target: WorkspaceTarget): TerminalHandle | undefined {
    return this.#handles.get(targetKey(target));
  }

  /**
   * Types `text` + Enter into the target's terminal: at once when it is ready ('sent'), otherwise when it is
   * ('queued'; the workspace is asked to open it).
   */
  runCommand(target: WorkspaceTarget, text: string): 'sent' | 'queued' {
    const handle = this.get(target);
    if (handle?.ready && handle.type(text)) {
      handle.focus();
      return 'sent';
    }
    const key = targetKey(target);
    this.#pending.set(key, [...(this.#pending.get(key) ?? []), text]);
    this.wanted.add(key);
    return 'queued';
  }

  /**
   * Puts `text` on the command line of the target's ready terminal WITHOUT Enter, for the person to review and run
   * (the AI assistant's "Run in terminal"). Several lines are typed only when the shell holds a paste until Enter
   * (bracketed paste); otherwise each newline would run a line at once.
   */
  typeForReview(target: WorkspaceTarget, text: string): 'typed' | 'no-terminal' | 'would-run-lines' {
    const handle = this.get(target);
    if (!handle?.ready || !handle.paste) return 'no-terminal';
    if (/[\r\n]/.test(text) && !handle.bracketedPaste) return 'would-run-lines';
    if (!handle.paste(text)) return 'no-terminal';
    handle.focus();
    return 'typed';
  }

  /** The commands waiting for this target's terminal, handed over once (the terminal types them when ready). */
  takePending(target: WorkspaceTarget): string[] {
    const key = targetKey(target);
    const pending = this.#pending.get(key) ?? [];
    this.#pending.delete(key);
    this.wanted.delete(key);
    return pending;
  }

  /** Whether a command waits for this target's terminal to open. */
  isWanted(target: WorkspaceTarget): boolean {
    return this.wanted.has(targetKey(target));
  }
}

export const terminals = new Terminals();

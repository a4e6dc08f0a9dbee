/*
 * The run button's states and words, shared by the markdown renderer (its HTML) and the suggested-commands list
 * (Svelte), kept apart from markdown.ts so that importing them does not pull markdown-it into the panel's chunk.
 */

/**
 * Whether shell blocks get a run button: 'ready' (a terminal for the target is open), 'missing' (there is a
 * target without an open terminal: the button says so and leads to it), 'off' (no target, or still streaming).
 */
export type RunState = 'ready' | 'missing' | 'off';

export const RUN_LABEL = 'Run in terminal';
export const RUN_TITLE = 'Types the command into the terminal without pressing Enter: review it, then press Enter.';
export const MISSING_LABEL = 'Open a terminal first';
export const MISSING_TITLE = 'No terminal is open for this pod or node: go to its Workspace and open the Terminal tab.';

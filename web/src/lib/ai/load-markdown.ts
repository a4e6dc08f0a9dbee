import type { RunState } from './labels.ts';
import type { Rendered } from './markdown.ts';

/** markdown-it and the renderer, downloaded with the first answer shown (their own chunk), then kept. */
export type Render = (text: string, run: RunState) => Rendered;

let loading: Promise<Render> | undefined;
export const loadMarkdown = (): Promise<Render> => {
  loading ??= import('./markdown.ts').then(({ createMarkdown }) => createMarkdown());
  return loading;
};

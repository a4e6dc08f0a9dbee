import MarkdownIt from 'markdown-it';
import { commandText, isShellFence } from './commands.ts';
import { MISSING_LABEL, MISSING_TITLE, RUN_LABEL, RUN_TITLE, type RunState } from './labels.ts';

/*
 * The assistant's answers as HTML (a lazy chunk: markdown-it loads with the first answer shown). An answer may
 * repeat text from logs and files, so it is untrusted: raw HTML is escaped (`html: false`), only http(s), mailto
 * and relative links become links (markdown-it's own check only refuses a few schemes), links open in a new tab
 * without an opener or referrer, and images are not rendered (nothing is fetched because an answer says so).
 *
 * Code blocks carry their tools as buttons (`data-action` copy|run, `data-block` = index into `blocks`); the
 * panel handles their clicks by delegation, so no script is in the HTML.
 */

export type CodeBlock = { index: number; lang: string; code: string; shell: boolean };
export type Rendered = { html: string; blocks: CodeBlock[] };

type Env = { blocks: CodeBlock[]; run: RunState };

const SAFE_SCHEME = /^(https?|mailto):/i;
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Only http(s), mailto and scheme-less (relative) links. */
export const isSafeLink = (url: string): boolean => {
  const trimmed = url.trim();
  return SAFE_SCHEME.test(trimmed) || !ANY_SCHEME.test(trimmed);
};

export function createMarkdown(): (text: string, run: RunState) => Rendered {
  const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
  md.linkify.set({ fuzzyLink: false, fuzzyEmail: false });
  md.disable('image');
  md.validateLink = isSafeLink;
  const escapeHtml = md.utils.escapeHtml;

  const defaultLinkOpen =
    md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    token?.attrSet('target', '_blank');
    token?.attrSet('rel', 'noopener noreferrer');
    return defaultLinkOpen(tokens, idx, options, env, self);
  };

  const block = (env: Env, lang: string, content: string, shell: boolean): string => {
    const index = env.blocks.length;
    const code = commandText(content);
    env.blocks.push({ index, lang, code, shell });
    const tools = [
      lang ? `<span class="code-lang">${escapeHtml(lang)}</span>` : '',
      `<button type="button" data-action="copy" data-block="${index}" title="Copy to the clipboard">Copy</button>`,
      shell && env.run !== 'off' ? runButton(env.run, index) : '',
    ].join('');
    return `<div class="code-block"><div class="code-tools">${tools}</div><pre><code>${escapeHtml(content)}</code></pre></div>\n`;
  };
  md.renderer.rules.fence = (tokens, idx, _options, env) => {
    const token = tokens[idx];
    if (!token) return '';
    const lang = token.info.trim().split(/\s+/)[0] ?? '';
    return block(env as Env, lang, token.content, isShellFence(token.info));
  };
  md.renderer.rules.code_block = (tokens, idx, _options, env) =>
    block(env as Env, '', tokens[idx]?.content ?? '', false);

  return (text, run) => {
    const env: Env = { blocks: [], run };
    return { html: md.render(text, env), blocks: env.blocks };
  };
}

const runButton = (run: 'ready' | 'missing', index: number): string =>
  run === 'ready'
    ? `<button type="button" data-action="run" data-block="${index}" data-testid="run-in-terminal" title="${RUN_TITLE}">${RUN_LABEL}</button>`
    : `<button type="button" data-action="run" data-block="${index}" data-testid="run-in-terminal" data-missing="true" title="${MISSING_TITLE}">${MISSING_LABEL}</button>`;

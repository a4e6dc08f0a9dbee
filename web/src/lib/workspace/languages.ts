/*
 * Which highlighting a file gets in the editor, by its name. The grammars themselves are loaded on demand
 * (editor-setup.ts) so a file of one language never downloads the others.
 */

export type Language =
  | 'javascript'
  | 'jsx'
  | 'typescript'
  | 'tsx'
  | 'json'
  | 'python'
  | 'markdown'
  | 'css'
  | 'html'
  | 'yaml'
  | 'plain';

const BY_EXTENSION: Record<string, Language> = {
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'jsx',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'tsx',
  json: 'json',
  jsonc: 'json',
  json5: 'json',
  webmanifest: 'json',
  py: 'python',
  pyi: 'python',
  md: 'markdown',
  markdown: 'markdown',
  css: 'css',
  html: 'html',
  htm: 'html',
  yaml: 'yaml',
  yml: 'yaml',
};

/** Files known by their whole name rather than an extension. */
const BY_NAME: Record<string, Language> = {
  '.babelrc': 'json',
  '.eslintrc': 'json',
  '.prettierrc': 'json',
};

export function languageOf(fileName: string): Language {
  const name = fileName.slice(fileName.lastIndexOf('/') + 1).toLowerCase();
  const known = BY_NAME[name];
  if (known) return known;
  const dot = name.lastIndexOf('.');
  // A leading dot is a hidden file's name (`.bashrc`), not an extension.
  if (dot <= 0) return 'plain';
  return BY_EXTENSION[name.slice(dot + 1)] ?? 'plain';
}

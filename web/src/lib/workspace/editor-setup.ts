import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  HighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language';
import { EditorState, type Extension, Prec } from '@codemirror/state';
import {
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import type { Language } from './languages.ts';

/*
 * CodeMirror 6 as the console's editor uses it: loaded on demand by Editor.svelte (this module is its own chunk,
 * each grammar another one). The view lives in a shadow root: CodeMirror then mounts its styles as constructable
 * stylesheets, which the console's CSP allows, where in the document it would write a <style> element the CSP
 * refuses. Colours follow the console's light or dark scheme through its CSS variables (they cross the shadow
 * boundary).
 */

export type { Extension };
export { EditorState, EditorView };

/** The grammar of a language, loaded on first use. */
export async function languageSupport(language: Language): Promise<Extension> {
  switch (language) {
    case 'javascript':
      return (await import('@codemirror/lang-javascript')).javascript();
    case 'jsx':
      return (await import('@codemirror/lang-javascript')).javascript({ jsx: true });
    case 'typescript':
      return (await import('@codemirror/lang-javascript')).javascript({ typescript: true });
    case 'tsx':
      return (await import('@codemirror/lang-javascript')).javascript({ jsx: true, typescript: true });
    case 'json':
      return (await import('@codemirror/lang-json')).json();
    case 'python':
      return (await import('@codemirror/lang-python')).python();
    case 'markdown':
      return (await import('@codemirror/lang-markdown')).markdown();
    case 'css':
      return (await import('@codemirror/lang-css')).css();
    case 'html':
      return (await import('@codemirror/lang-html')).html();
    case 'yaml':
      return (await import('@codemirror/lang-yaml')).yaml();
    case 'plain':
      return [];
    default: {
      const never: never = language;
      return never;
    }
  }
}

/** Token colours readable on the console's dark panel (CodeMirror's default style is made for light ones). */
const darkHighlight = HighlightStyle.define(
  [
    { tag: [tags.keyword, tags.operatorKeyword, tags.modifier], color: '#ff7b72' },
    { tag: [tags.string, tags.special(tags.string), tags.regexp], color: '#a5d6ff' },
    { tag: [tags.comment, tags.meta], color: '#8b949e', fontStyle: 'italic' },
    { tag: [tags.number, tags.bool, tags.null, tags.atom], color: '#79c0ff' },
    { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: '#d2a8ff' },
    { tag: [tags.typeName, tags.className, tags.namespace], color: '#ffa657' },
    { tag: [tags.propertyName, tags.attributeName], color: '#7ee787' },
    { tag: [tags.tagName, tags.heading], color: '#7ee787', fontWeight: 'bold' },
    { tag: tags.link, color: '#a5d6ff', textDecoration: 'underline' },
    { tag: tags.invalid, color: '#f85149' },
  ],
  { themeType: 'dark' },
);

const prefersDark = (): boolean => globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;

const consoleTheme = (dark: boolean) =>
  EditorView.theme(
    {
      '&': { height: '100%', backgroundColor: 'var(--panel)', color: 'var(--text)', fontSize: '0.85rem' },
      '&.cm-focused': { outline: 'none' },
      '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', overflow: 'auto' },
      '.cm-gutters': { backgroundColor: 'var(--bg)', color: 'var(--muted)', borderRight: '1px solid var(--line)' },
      '.cm-activeLine': { backgroundColor: dark ? '#ffffff0a' : '#1f6feb0d' },
      '.cm-activeLineGutter': { backgroundColor: dark ? '#ffffff10' : '#1f6feb14' },
      '.cm-cursor': { borderLeftColor: 'var(--text)' },
      '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
        backgroundColor: dark ? '#264f78' : '#b6d4fe',
      },
    },
    { dark },
  );

/** Everything but the language and the file's own wiring, for every tab alike. */
export function baseExtensions(): Extension[] {
  const dark = prefersDark();
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    foldGutter(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    indentOnInput(),
    syntaxHighlighting(dark ? darkHighlight : defaultHighlightStyle, { fallback: true }),
    bracketMatching(),
    closeBrackets(),
    autocompletion(),
    rectangularSelection(),
    highlightActiveLine(),
    keymap.of([
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...historyKeymap,
      ...foldKeymap,
      ...completionKeymap,
      indentWithTab,
    ]),
    consoleTheme(dark),
  ];
}

/** A tab's state: its text, grammar, Ctrl/Cmd-S and a listener for every change of its document. */
export function tabState(options: {
  text: string;
  language: Extension;
  onSave: () => void;
  onChange: (state: EditorState) => void;
}): EditorState {
  return EditorState.create({
    doc: options.text,
    extensions: [
      Prec.highest(
        keymap.of([
          {
            key: 'Mod-s',
            preventDefault: true,
            run: () => {
              options.onSave();
              return true;
            },
          },
        ]),
      ),
      baseExtensions(),
      options.language,
      EditorView.updateListener.of((update) => {
        if (update.docChanged) options.onChange(update.state);
      }),
    ],
  });
}

/** The editor's view, in a shadow root of `host` (see above); one view shows the active tab's state. */
export function createEditorView(host: HTMLElement, state: EditorState): EditorView {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  const mount = host.ownerDocument.createElement('div');
  mount.style.height = '100%';
  root.replaceChildren(mount);
  return new EditorView({ state, parent: mount, root });
}

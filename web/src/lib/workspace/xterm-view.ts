import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import { withConstructedStyles } from './constructed-styles.ts';

/*
 * xterm, as the console uses it: loaded on demand by Terminal.svelte (this module and its imports are their own
 * chunk), fitted to its container, with clickable links, and opened so that it respects the console's CSP
 * (constructed-styles.ts).
 */

export type XtermView = {
  terminal: Terminal;
  /** Fits the terminal to its container; false while the container has no size (a hidden tab). */
  fit(): boolean;
  dispose(): void;
};

const THEME = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#e6edf3',
  selectionBackground: '#264f78',
};

export function openXterm(parent: HTMLElement): XtermView {
  const terminal = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    fontSize: 13,
    scrollback: 5000,
    theme: THEME,
  });
  const fitAddon = new FitAddon();
  terminal.loadAddon(fitAddon);
  terminal.loadAddon(new WebLinksAddon());
  const { styles } = withConstructedStyles(parent.ownerDocument, () => terminal.open(parent));
  return {
    terminal,
    fit() {
      if (parent.clientWidth === 0 || parent.clientHeight === 0) return false;
      fitAddon.fit();
      return true;
    },
    dispose() {
      terminal.dispose();
      styles.dispose();
    },
  };
}

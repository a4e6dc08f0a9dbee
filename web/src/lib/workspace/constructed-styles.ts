/*
 * The console's CSP allows stylesheets from its own origin only: no inline <style> element may apply (see
 * services/gateway/src/console/README.md). xterm's DOM renderer writes its per-terminal rules (cell sizes, theme
 * colours, scrollbar) into <style> elements it creates while opening, which the browser would refuse, logging a
 * violation, and the terminal would render without them. Constructable stylesheets (`new CSSStyleSheet()` adopted
 * by the document) are not subject to that rule, so while `run` executes every <style> element asked for is
 * stood in for by an inert <template> (display: none, never applied) whose textContent feeds a constructed sheet,
 * and whose removal drops it. xterm only ever sets textContent on those elements and removes them, all of them
 * created inside `open()` (DomRenderer and Viewport constructors), which is what `run` wraps.
 */

export type ConstructedStyles = {
  /** How many sheets are adopted right now (for tests). */
  readonly count: number;
  /** Drops every sheet still adopted (xterm's dispose removes its own; this is the safety net). */
  dispose(): void;
};

export function withConstructedStyles<T>(doc: Document, run: () => T): { result: T; styles: ConstructedStyles } {
  const sheets = new Set<CSSStyleSheet>();
  const adopt = (sheet: CSSStyleSheet) => {
    sheets.add(sheet);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  };
  const drop = (sheet: CSSStyleSheet) => {
    sheets.delete(sheet);
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((adopted) => adopted !== sheet);
  };

  const hadOwn = Object.hasOwn(doc, 'createElement');
  const original = doc.createElement;
  const standIn = (): HTMLElement => {
    const element = original.call(doc, 'template');
    const sheet = new (doc.defaultView ?? window).CSSStyleSheet();
    let text = '';
    adopt(sheet);
    Object.defineProperty(element, 'textContent', {
      configurable: true,
      get: () => text,
      set: (value: string | null) => {
        text = value ?? '';
        sheet.replaceSync(text);
      },
    });
    element.remove = () => {
      Element.prototype.remove.call(element);
      drop(sheet);
    };
    return element;
  };
  doc.createElement = function createElement(this: Document, tagName: string, options?: ElementCreationOptions) {
    return tagName.toLowerCase() === 'style' ? standIn() : original.call(this, tagName, options);
  } as Document['createElement'];

  try {
    return {
      result: run(),
      styles: {
        get count() {
          return sheets.size;
        },
        dispose: () => {
          for (const sheet of [...sheets]) drop(sheet);
        },
      },
    };
  } finally {
    if (hadOwn) doc.createElement = original;
    else delete (doc as { createElement?: unknown }).createElement;
  }
}

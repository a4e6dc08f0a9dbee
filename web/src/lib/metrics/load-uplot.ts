import type uPlot from 'uplot';

/*
 * uPlot is imported by the first chart shown, never by pages without charts: a chunk of its own, fetched then
 * (vite.config.ts `lazyChunks` keeps what our code imports dynamically out of the eager bundle; without it,
 * `bundleStrategy: 'single'` would inline the library into every first visit).
 */
let loading: Promise<typeof uPlot> | undefined;

export function loadUPlot(): Promise<typeof uPlot> {
  loading ??= import('uplot').then((module) => module.default);
  // A failed load (a rebuilt console whose old chunk is gone, a network hiccup) is tried again by the next chart.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

import { fileURLToPath } from 'node:url';
import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';

/*
 * The console is a single-page app: every route renders in the browser, and the gateway serves the one shell
 * (index.html) for all of them. One bundle (one request, no waterfall of route chunks; the contracts load
 * lazily inside it, with the create form), precompressed so the gateway can send .br/.gz as they are.
 * `vite dev` proxies the gateway's paths to a running gateway (AGENTPOD_URL, default http://127.0.0.1:8080).
 */
const gateway = process.env.AGENTPOD_URL ?? 'http://127.0.0.1:8080';

/**
 * 'single' turns code splitting off, which inlines every dynamic import (xterm, CodeMirror and its grammars,
 * about 1 MB) into the bundle every page loads. This keeps the app one eager script (kit's entry, everything it
 * imports and every route, preloaded by the shell) and lets what our code imports dynamically become chunks of
 * their own, fetched when first used.
 */
function lazyChunks(): Plugin {
  const routes = /[\\/]\.svelte-kit[\\/]generated[\\/]|<sveltekit:generated>|[\\/]@sveltejs[\\/]kit[\\/]/;
  let eager = new Set<string>();
  return {
    name: 'agentpod:lazy-chunks',
    configEnvironment(name) {
      if (name !== 'client') return;
      const groups = [{ name: 'app', test: (id: string) => eager.has(id) }];
      return { build: { rolldownOptions: { output: { codeSplitting: { groups } } } } };
    },
    buildEnd() {
      if (this.environment.name !== 'client') return;
      const ids = [...this.getModuleIds()];
      const stack = ids.filter((id) => this.getModuleInfo(id)?.isEntry);
      const seen = new Set<string>();
      for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
        const info = seen.has(id) ? null : this.getModuleInfo(id);
        if (!info) continue;
        seen.add(id);
        stack.push(...info.importedIds);
        if (routes.test(id)) stack.push(...info.dynamicallyImportedIds);
      }
      eager = seen;
    },
  };
}

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter({ fallback: 'index.html', precompress: true }),
      output: { bundleStrategy: 'single' },
    }),
    lazyChunks(),
  ],
  resolve: {
    // The contracts' TypeScript sources, as the services use them in development: no build of theirs needed
    // (through an entry that makes zod parse without eval first; see the file).
    alias: { '@agentpod/contracts': fileURLToPath(new URL('./src/lib/contracts-entry.ts', import.meta.url)) },
  },
  server: {
    proxy: {
      '/api': { target: gateway, ws: true }, // the terminal sockets live under /api
      '/auth/callback': gateway,
      '/invitations/accept': gateway,
      '/pages': gateway,
      '/console/live': { target: gateway, ws: true },
    },
  },
});

import { fileURLToPath } from 'node:url';
import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/*
 * The console is a single-page app: every route renders in the browser, and the gateway serves the one shell
 * (index.html) for all of them. One bundle (one request, no waterfall of route chunks; the contracts load
 * lazily inside it, with the create form), precompressed so the gateway can send .br/.gz as they are.
 * `vite dev` proxies the gateway's paths to a running gateway (AGENTPOD_URL, default http://127.0.0.1:8080).
 */
const gateway = process.env.AGENTPOD_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter({ fallback: 'index.html', precompress: true }),
      output: { bundleStrategy: 'single' },
    }),
  ],
  resolve: {
    // The contracts' TypeScript sources, as the services use them in development: no build of theirs needed.
    alias: { '@agentpod/contracts': fileURLToPath(new URL('../packages/contracts/src/index.ts', import.meta.url)) },
  },
  server: {
    proxy: {
      '/api': gateway,
      '/auth/callback': gateway,
      '/invitations/accept': gateway,
      '/pages': gateway,
      '/console/live': { target: gateway, ws: true },
    },
  },
});

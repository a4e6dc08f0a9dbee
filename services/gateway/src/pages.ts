import { CSRF_HEADER } from '@agentpod/contracts';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CSRF_COOKIE } from './auth/cookies.ts';

/*
 * The two pages emailed links land on; they send the browser on to the console (console/plugin.ts) at `/`. The
 * token travels in the URL fragment, which the browser never sends to a server (so it is in no access log and no
 * Referer); a static script reads it, drops it from the address bar and history, and POSTs it. No inline script:
 * the CSP allows only 'self'.
 */

const page = (title: string, action: 'redeem' | 'accept') => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · AgentPod</title>
<script src="/pages/link.js" defer></script>
</head>
<body data-action="${action}">
<h1>${title}</h1>
<p id="status">Working…</p>
<noscript><p>This page needs JavaScript to send the link's token to the server.</p></noscript>
</body>
</html>
`;

const script = `(() => {
  'use strict';
  const status = document.getElementById('status');
  const accept = document.body.dataset.action === 'accept';
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(null, '', location.pathname);
  if (!token) {
    status.textContent = 'This link has no token. Ask for a new one.';
    return;
  }
  const headers = { 'content-type': 'application/json' };
  const csrf = document.cookie.split('; ').find((c) => c.startsWith('${CSRF_COOKIE}='));
  if (csrf) headers['${CSRF_HEADER}'] = decodeURIComponent(csrf.slice(${CSRF_COOKIE.length + 1}));
  fetch(accept ? '/api/v1/invitations/accept' : '/api/v1/auth/redeem', {
    method: 'POST',
    headers,
    credentials: 'same-origin',
    body: JSON.stringify({ token }),
  })
    .then(async (response) => {
      if (response.ok) return location.replace('/');
      if (accept && response.status === 401) {
        status.textContent = 'Sign in first, with the address the invitation was sent to, then open this link again.';
        return;
      }
      const body = await response.json().catch(() => undefined);
      status.textContent = (body && body.error && body.error.message) || 'That did not work (' + response.status + ').';
    })
    .catch(() => {
      status.textContent = 'The server could not be reached; try again.';
    });
})();
`;

export const pages: FastifyPluginAsync = async (app) => {
  const html = (body: string) => (_request: unknown, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  app.get('/auth/callback', html(page('Signing in', 'redeem')));
  app.get('/invitations/accept', html(page('Accepting the invitation', 'accept')));
  app.get('/pages/link.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(script),
  );
};

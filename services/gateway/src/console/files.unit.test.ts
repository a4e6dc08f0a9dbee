import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { answerFor, cacheControlFor, isReserved, shellCsp } from './files.ts';

const FILES = new Set([
  'index.html',
  'index.html.gz',
  'favicon.svg',
  '_app/version.json',
  '_app/immutable/bundle.abc.js',
]);

describe('which paths the console answers, and how', () => {
  test('files of the build by their exact name; compressed variants only through content negotiation', () => {
    assert.deepEqual(answerFor('/favicon.svg', FILES), { kind: 'file', file: 'favicon.svg' });
    assert.deepEqual(answerFor('/_app/immutable/bundle.abc.js', FILES), {
      kind: 'file',
      file: '_app/immutable/bundle.abc.js',
    });
    assert.deepEqual(answerFor('/index.html.gz', FILES), { kind: 'not-found' });
  });

  test('console routes get the shell; missing assets and file-like paths do not', () => {
    for (const path of ['/', '/pods', '/pods/acme/web', '/nodes/nod_abc', '/sign-in']) {
      assert.deepEqual(answerFor(path, FILES), { kind: 'shell' }, path);
    }
    for (const path of ['/_app/immutable/gone.js', '/_app/whatever', '/robots.txt', '/x.map']) {
      assert.deepEqual(answerFor(path, FILES), { kind: 'not-found' }, path);
    }
  });

  test('the gateway’s own paths are never the console’s, whatever follows them', () => {
    for (const path of ['/api', '/api/v1/nope', '/agent', '/agent/x', '/auth/x', '/invitations/x', '/healthz']) {
      assert.ok(isReserved(path), path);
      assert.deepEqual(answerFor(path, FILES), { kind: 'not-found' }, path);
    }
    for (const path of ['/apis', '/agents', '/authors', '/healthz2', '/pods/api']) assert.ok(!isReserved(path), path);
  });

  test('hashed assets are immutable for a year; everything else revalidates', () => {
    assert.equal(cacheControlFor('_app/immutable/bundle.abc.js'), 'public, max-age=31536000, immutable');
    assert.equal(cacheControlFor('_app/version.json'), 'no-cache');
    assert.equal(cacheControlFor('favicon.svg'), 'no-cache');
  });

  test('the shell’s CSP pins each inline script by its hash and allows no inline style element', () => {
    const script = '\n  start();\n';
    const csp = shellCsp(`<html><body><script>${script}</script><script src="/a.js"></script></body></html>`);
    const hash = createHash('sha256').update(script).digest('base64');
    assert.match(csp, new RegExp(`script-src 'self' 'sha256-${hash.replace(/[+/]/g, '\\$&')}';`));
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'self';/);
    assert.match(csp, /frame-ancestors 'none'/);
  });
});

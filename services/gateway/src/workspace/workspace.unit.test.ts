import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { parseEnv } from '@agentpod/kit';
import { GatewayEnv } from '../env.ts';
import { contentDisposition, etagOf } from './file-download.ts';
import { ifMatchVersion } from './file-upload.ts';
import { fileScopeOf, terminalTargetOf } from './targets.ts';

describe('workspace: headers, targets, settings', () => {
  test('content-disposition names any file safely (RFC 6266 filename*)', () => {
    assert.equal(contentDisposition('big.bin'), "attachment; filename*=UTF-8''big.bin");
    assert.equal(contentDisposition('a b"c;d.txt'), "attachment; filename*=UTF-8''a%20b%22c%3Bd.txt");
    assert.equal(contentDisposition("it's (1)*!.txt"), "attachment; filename*=UTF-8''it%27s%20%281%29%2A%21.txt");
    assert.equal(contentDisposition('résumé\r\n.pdf'), "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%0D%0A.pdf");
  });

  test('ETag quotes the version and drops what could break the header', () => {
    assert.equal(etagOf('1700000000123456789-42'), '"1700000000123456789-42"');
    assert.equal(etagOf('a"b\r\nc'), '"abc"');
  });

  test('If-Match: one version, quoted (as the ETag gives it) or bare; anything else is refused', () => {
    assert.equal(ifMatchVersion(undefined), undefined);
    assert.equal(ifMatchVersion('"17-42"'), '17-42');
    assert.equal(ifMatchVersion('W/"17-42"'), '17-42');
    assert.equal(ifMatchVersion(' 17-42 '), '17-42');
    for (const bad of ['*', '"a", "b"', '""', `"${'x'.repeat(200)}"`, 'a b']) {
      assert.throws(
        () => ifMatchVersion(bad),
        (error: unknown) => error instanceof AppError && error.code === 'invalid',
      );
    }
  });

  test('a pod terminal needs a running container; pod files need a volume; a node has both', () => {
    const pod = { kind: 'pod' as const, tenantId: 'acme', podId: 'web' };
    const node = { kind: 'node' as const, node: 'edge-1' };
    const located = { nodeId: 'nod_x', containerId: 'c0ffee', volume: 'agentpod-acme_web' };
    assert.deepEqual(terminalTargetOf(pod, located), { kind: 'container', containerId: 'c0ffee' });
    assert.deepEqual(fileScopeOf(pod, located), { kind: 'volume', volume: 'agentpod-acme_web' });
    assert.throws(() => terminalTargetOf(pod, { ...located, containerId: null }), /no running container/);
    assert.throws(() => fileScopeOf(pod, { ...located, volume: null }), /has no volume/);
    const bare = { nodeId: 'nod_x', containerId: null, volume: null };
    assert.deepEqual(terminalTargetOf(node, bare), { kind: 'host' });
    assert.deepEqual(fileScopeOf(node, bare), { kind: 'host' });
  });

  test('environment: idle seconds, re-check period, upload limit, with defaults and bounds', () => {
    const defaults = parseEnv(GatewayEnv, {});
    assert.equal(defaults.AGENTPOD_TERMINAL_IDLE_SECONDS, 1800);
    assert.equal(defaults.AGENTPOD_WORKSPACE_RECHECK_MS, 5000);
    assert.equal(defaults.AGENTPOD_FILE_MAX_UPLOAD_BYTES, 1024 ** 3);
    const set = parseEnv(GatewayEnv, {
      AGENTPOD_TERMINAL_IDLE_SECONDS: '60',
      AGENTPOD_WORKSPACE_RECHECK_MS: '1000',
      AGENTPOD_FILE_MAX_UPLOAD_BYTES: String(5 * 1024 ** 3),
    });
    assert.equal(set.AGENTPOD_FILE_MAX_UPLOAD_BYTES, 5 * 1024 ** 3);
    assert.throws(
      () => parseEnv(GatewayEnv, { AGENTPOD_TERMINAL_IDLE_SECONDS: '0' }),
      /AGENTPOD_TERMINAL_IDLE_SECONDS/,
    );
    assert.throws(() => parseEnv(GatewayEnv, { AGENTPOD_WORKSPACE_RECHECK_MS: '5' }), /AGENTPOD_WORKSPACE_RECHECK_MS/);
    assert.throws(
      () => parseEnv(GatewayEnv, { AGENTPOD_FILE_MAX_UPLOAD_BYTES: 'lots' }),
      /AGENTPOD_FILE_MAX_UPLOAD_BYTES/,
    );
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AppError, type KeptMount } from '@agentpod/contracts';
import { type Adoption, AdoptionRegistry, registryFile, unknownMounts } from './registry.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
const stateDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agentpod-adoptions-'));
  dirs.push(dir);
  return join(dir, 'state');
};

const adoption = (containerId: string, podId = 'web'): Adoption => ({
  containerId,
  tenantId: 'acme',
  podId,
  generation: 1,
  nodeId: 'nod_aaaaaaaaaaaaaaaaaaaaaaaa',
  originalName: 'legacy-web',
  adoptedAt: '2025-01-01T00:00:00.000Z',
});
const data: KeptMount = { type: 'volume', source: 'legacy-data', destination: '/data', readOnly: false };
const bind: KeptMount = { type: 'bind', source: '/srv/legacy', destination: '/srv', readOnly: true };

describe('adoption registry', () => {
  test('what is recorded survives a reopen (an agent restart); the file is 0600 and replaced whole', async () => {
    const dir = await stateDir();
    const registry = await AdoptionRegistry.open(registryFile(dir));
    assert.deepEqual(registry.all(), []);
    await registry.record(adoption('c1'), [data, bind]);
    await registry.record(adoption('c2', 'api'), []);
    const reopened = await AdoptionRegistry.open(registryFile(dir));
    assert.deepEqual(reopened.get('c1'), adoption('c1'));
    assert.deepEqual(
      reopened.all().map((a) => a.containerId),
      ['c1', 'c2'],
    );
    assert.deepEqual(reopened.keptMounts('acme', 'web'), [data, bind]);
    assert.equal((await stat(registryFile(dir))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['adoptions.json'], 'no temporary file left behind');
  });

  test('a forgotten container is no longer reported, but its pod may still keep its mounts', async () => {
    const dir = await stateDir();
    const registry = await AdoptionRegistry.open(registryFile(dir));
    await registry.record(adoption('c1'), [data]);
    await registry.forget('c1');
    const reopened = await AdoptionRegistry.open(registryFile(dir));
    assert.equal(reopened.get('c1'), undefined);
    assert.deepEqual(reopened.keptMounts('acme', 'web'), [data]);
    assert.deepEqual(reopened.keptMounts('acme', 'other'), []);
  });

  test('concurrent records are all kept', async () => {
    const dir = await stateDir();
    const registry = await AdoptionRegistry.open(registryFile(dir));
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => registry.record(adoption(id, `pod-${id}`), [data])));
    const reopened = await AdoptionRegistry.open(registryFile(dir));
    assert.equal(reopened.all().length, 4);
  });

  test('a damaged file is an error that says what it is, not an empty registry', async () => {
    const dir = await stateDir();
    const first = await AdoptionRegistry.open(registryFile(dir));
    await first.record(adoption('c1'), []);
    await writeFile(registryFile(dir), '{"version":1,');
    await assert.rejects(
      AdoptionRegistry.open(registryFile(dir)),
      (error: unknown) => error instanceof AppError && error.code === 'invalid' && /not JSON/.test(error.message),
    );
    await writeFile(registryFile(dir), '{"version":2}');
    await assert.rejects(AdoptionRegistry.open(registryFile(dir)), /not an adoption registry/);
  });

  test('unknownMounts: what the pod’s adopted containers never had', () => {
    assert.deepEqual(unknownMounts([data, bind], [data]), []);
    const other: KeptMount = { type: 'bind', source: '/', destination: '/host', readOnly: false };
    assert.deepEqual(unknownMounts([data, bind], [data, other]), [other]);
    assert.deepEqual(unknownMounts([bind], [{ ...bind, readOnly: false }]).length, 1, 'read-only stays read-only');
  });
});

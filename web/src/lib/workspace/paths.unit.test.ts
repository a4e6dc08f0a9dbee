import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  baseName,
  breadcrumbs,
  isSameOrInside,
  joinPath,
  modeString,
  nameProblem,
  normalizePath,
  parentPath,
  parseMode,
  resolvePath,
} from './paths.ts';

describe('file paths as the console builds them', () => {
  test('normalised lexically; .. never climbs above the top', () => {
    assert.equal(normalizePath('/a//b/./c/../d/'), '/a/b/d');
    assert.equal(normalizePath('/../../etc/passwd'), '/etc/passwd');
    assert.equal(normalizePath(''), '/');
    assert.equal(normalizePath('/'), '/');
  });

  test('a typed name stays in the folder; a typed absolute path goes there', () => {
    assert.equal(resolvePath('/app', 'notes.md'), '/app/notes.md');
    assert.equal(resolvePath('/app', '../x'), '/x');
    assert.equal(resolvePath('/app', '/data/x'), '/data/x');
    assert.equal(joinPath('/', 'a'), '/a');
    assert.equal(joinPath('/a/', 'b'), '/a/b');
  });

  test('parent and base name', () => {
    assert.equal(parentPath('/a/b'), '/a');
    assert.equal(parentPath('/a'), '/');
    assert.equal(parentPath('/'), '/');
    assert.equal(baseName('/a/b.txt'), 'b.txt');
    assert.equal(baseName('/'), '/');
  });

  test('inside a directory means below it, not merely sharing a prefix', () => {
    assert.ok(isSameOrInside('/a/b', '/a'));
    assert.ok(isSameOrInside('/a', '/a'));
    assert.ok(isSameOrInside('/anything', '/'));
    assert.ok(!isSameOrInside('/ab', '/a'));
    assert.ok(!isSameOrInside('/a', '/a/b'));
  });

  test('file names: refused when empty, a path, a dot name, with NUL or over 255 bytes', () => {
    assert.equal(nameProblem('notes.md'), undefined);
    assert.equal(nameProblem('é'.repeat(127)), undefined);
    for (const bad of ['', '  ', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256), 'é'.repeat(128)]) {
      assert.ok(nameProblem(bad), JSON.stringify(bad));
    }
  });

  test('breadcrumbs from the top', () => {
    assert.deepEqual(breadcrumbs('/a/b'), [
      { name: '/', path: '/' },
      { name: 'a', path: '/a' },
      { name: 'b', path: '/a/b' },
    ]);
  });

  test('modes: octal as the routes take them, never setuid; shown like ls -l', () => {
    assert.equal(parseMode(' 644 '), '644');
    assert.equal(parseMode('0755'), '0755');
    assert.equal(parseMode('2775'), '2775');
    for (const bad of ['4755', '888', 'rwx', '64', '07777', '']) assert.equal(parseMode(bad), undefined, bad);
    assert.equal(modeString('755'), 'rwxr-xr-x');
    assert.equal(modeString('0640'), 'rw-r-----');
  });
});

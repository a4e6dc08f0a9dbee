import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  conflictPlan,
  decodeText,
  EDITOR_MAX_BYTES,
  editorRefusal,
  entityTag,
  saveOutcome,
  saveStatus,
  versionOfTag,
} from './content.ts';
import { languageOf } from './languages.ts';

describe('what the editor opens', () => {
  test('regular files up to 2 MB; directories, links and larger files are refused with a reason', () => {
    assert.equal(editorRefusal({ type: 'file', size: EDITOR_MAX_BYTES }), undefined);
    assert.match(editorRefusal({ type: 'file', size: EDITOR_MAX_BYTES + 1 }) ?? '', /Download it instead/);
    assert.ok(editorRefusal({ type: 'dir', size: 0 }));
    assert.ok(editorRefusal({ type: 'symlink', size: 3 }));
    assert.ok(editorRefusal({ type: 'other', size: 0 }));
  });

  test('text is UTF-8 without NUL bytes; anything else is binary', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    assert.equal(decodeText(encode('héllo\n')), 'héllo\n');
    assert.equal(decodeText(new Uint8Array()), '');
    assert.equal(decodeText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])), undefined, 'a PNG');
    assert.equal(decodeText(new Uint8Array([0x61, 0xff, 0x62])), undefined, 'invalid UTF-8');
    assert.equal(decodeText(encode(`a\0b`)), undefined, 'a NUL byte');
  });

  test('versions travel as entity tags', () => {
    assert.equal(entityTag('1700000000000000000-42'), '"1700000000000000000-42"');
    assert.equal(versionOfTag('"abc"'), 'abc');
    assert.equal(versionOfTag('W/"abc"'), 'abc');
    assert.equal(versionOfTag('abc'), 'abc');
    assert.equal(versionOfTag(null), undefined);
    assert.equal(versionOfTag(entityTag('x"y')), 'xy', 'a quote cannot break out of the tag');
  });
});

describe('saving', () => {
  test('a stale If-Match is a conflict (409 as the contract says, 412 as HTTP says); other failures are failures', () => {
    assert.equal(saveOutcome(201), 'saved');
    assert.equal(saveOutcome(200), 'saved');
    assert.equal(saveOutcome(409), 'conflict');
    assert.equal(saveOutcome(412), 'conflict');
    for (const status of [0, 400, 401, 403, 404, 500, 502]) assert.equal(saveOutcome(status), 'failed', String(status));
  });

  test('the conflict: reload reads the disk and writes nothing; overwrite writes without If-Match', () => {
    assert.deepEqual(conflictPlan('reload'), { read: true, write: false, ifMatch: false });
    assert.deepEqual(conflictPlan('overwrite'), { read: false, write: true, ifMatch: false });
  });

  test('the save status says where the tab stands', () => {
    assert.equal(saveStatus(false, { kind: 'idle' }), 'No changes');
    assert.equal(saveStatus(true, { kind: 'idle' }), 'Unsaved changes');
    assert.equal(saveStatus(true, { kind: 'saving' }), 'Saving…');
    assert.equal(saveStatus(false, { kind: 'saved' }), 'Saved');
    assert.equal(saveStatus(true, { kind: 'saved' }), 'Unsaved changes', 'typed again after saving');
    assert.match(saveStatus(true, { kind: 'conflict' }), /changed on disk since you opened it/i);
    assert.equal(saveStatus(true, { kind: 'failed', message: 'disk full' }), 'Not saved: disk full');
  });
});

describe('highlighting by file name', () => {
  test('known extensions, case-insensitive; hidden files and unknown ones are plain', () => {
    const cases: [string, string][] = [
      ['app.js', 'javascript'],
      ['lib.mjs', 'javascript'],
      ['View.JSX', 'jsx'],
      ['main.ts', 'typescript'],
      ['Page.tsx', 'tsx'],
      ['package.json', 'json'],
      ['.prettierrc', 'json'],
      ['tool.py', 'python'],
      ['README.md', 'markdown'],
      ['site.css', 'css'],
      ['index.html', 'html'],
      ['compose.yml', 'yaml'],
      ['/etc/app/config.yaml', 'yaml'],
      ['.bashrc', 'plain'],
      ['Dockerfile', 'plain'],
      ['notes.txt', 'plain'],
      ['archive.tar.gz', 'plain'],
      ['trailing.', 'plain'],
    ];
    for (const [name, language] of cases) assert.equal(languageOf(name), language, name);
  });
});

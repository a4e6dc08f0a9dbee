import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { editableBody, readEditedBody } from './generated.ts';

describe('a generated pod, edited before it is created', () => {
  const generated = { tenantId: 'acme', podId: 'n8n', spec: { image: 'n8nio/n8n:1' }, secrets: {} };

  test('is shown without its tenant (the path has it) and read back as the create body', () => {
    const text = editableBody(generated);
    assert.doesNotMatch(text, /tenantId/);
    assert.deepEqual(readEditedBody(text, 'acme'), {
      ok: true,
      body: { podId: 'n8n', spec: { image: 'n8nio/n8n:1' }, secrets: {} },
      podId: 'n8n',
    });
  });

  test('bad edits are explained, never sent', () => {
    assert.match(String((readEditedBody('{"podId":', 'acme') as { error: string }).error), /^Not JSON/);
    assert.equal(readEditedBody('[1]', 'acme').ok, false);
    assert.equal(readEditedBody('{"spec":{}}', 'acme').ok, false);
    const moved = readEditedBody('{"tenantId":"other","podId":"x"}', 'acme');
    assert.deepEqual(moved.ok ? '' : moved.error, 'The pod is created in acme: remove "tenantId" or set it to "acme".');
    assert.equal(readEditedBody('{"tenantId":"acme","podId":"x"}', 'acme').ok, true);
  });
});

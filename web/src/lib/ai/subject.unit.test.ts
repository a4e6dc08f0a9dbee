import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatTenant, sameSubject, subjectOfRoute, terminalTarget, workspacePage } from './subject.ts';

describe('what the assistant is asked about, from the page', () => {
  test('a pod page gives the pod (and its tenant), a node page the node, anything else nothing', () => {
    const pod = subjectOfRoute('/pods/[tenant]/[pod]', { tenant: 'acme', pod: 'web' });
    assert.deepEqual(pod, { kind: 'pod', tenantId: 'acme', podId: 'web' });
    assert.equal(chatTenant(pod, 'other'), 'acme');
    assert.deepEqual(subjectOfRoute('/nodes/[node]', { node: 'n1' }), { kind: 'node', nodeId: 'n1' });
    assert.deepEqual(subjectOfRoute('/pods', {}), { kind: 'none' });
    assert.deepEqual(subjectOfRoute(null, {}), { kind: 'none' });
    assert.equal(chatTenant({ kind: 'none' }, 'beta'), 'beta');
    assert.ok(sameSubject(pod, { kind: 'pod', tenantId: 'acme', podId: 'web' }));
    assert.ok(!sameSubject(pod, { kind: 'none' }));
  });

  test("commands go to the conversation's pod or node, else to this page's, else nowhere", () => {
    const podPage = { kind: 'pod', tenantId: 'acme', podId: 'web' } as const;
    const node = { kind: 'node', nodeId: 'n1' } as const;
    assert.deepEqual(terminalTarget(node, podPage), node);
    assert.deepEqual(terminalTarget({ kind: 'none' }, podPage), podPage);
    assert.equal(terminalTarget({ kind: 'none' }, { kind: 'none' }), undefined);
    assert.equal(workspacePage({ kind: 'pod', tenantId: 'a b', podId: 'web' }), '/pods/a%20b/web');
  });
});

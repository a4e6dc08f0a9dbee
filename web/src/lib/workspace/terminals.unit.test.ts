import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type TerminalHandle, terminals } from './terminals.svelte.ts';

/** A terminal as Terminal.svelte registers it, recording what is typed. */
function fakeTerminal(ready: boolean) {
  const typed: string[] = [];
  let focused = 0;
  const handle: TerminalHandle = {
    ready,
    type: (text) => {
      typed.push(text);
      return ready;
    },
    focus: () => {
      focused += 1;
    },
  };
  return { handle, typed, focused: () => focused };
}

describe('typing into the terminal of a pod or node from elsewhere in the console', () => {
  test('a ready terminal gets the command at once, and focus', () => {
    const target = { kind: 'pod', tenantId: 'acme', podId: 'web' } as const;
    const terminal = fakeTerminal(true);
    const detach = terminals.attach(target, terminal.handle);
    try {
      assert.equal(terminals.runCommand(target, 'ls -la'), 'sent');
      assert.deepEqual(terminal.typed, ['ls -la']);
      assert.equal(terminal.focused(), 1);
      assert.equal(terminals.isWanted(target), false);
    } finally {
      detach();
    }
  });

  test('without a ready terminal the commands wait, in order, and the workspace is asked to open one', () => {
    const target = { kind: 'node', nodeId: 'n1' } as const;
    assert.equal(terminals.runCommand(target, 'df -h'), 'queued');
    assert.equal(terminals.runCommand(target, 'uptime'), 'queued');
    assert.equal(terminals.isWanted(target), true);
    assert.equal(terminals.isWanted({ kind: 'node', nodeId: 'n2' }), false, 'only that target');
    assert.deepEqual(terminals.takePending(target), ['df -h', 'uptime']);
    assert.deepEqual(terminals.takePending(target), [], 'handed over once');
    assert.equal(terminals.isWanted(target), false);
  });

  test('a terminal that detaches is forgotten; a newer one for the same target is not detached by the older', () => {
    const target = { kind: 'pod', tenantId: 'acme', podId: 'api' } as const;
    const older = fakeTerminal(true);
    const newer = fakeTerminal(true);
    const detachOlder = terminals.attach(target, older.handle);
    const detachNewer = terminals.attach(target, newer.handle);
    detachOlder();
    assert.equal(terminals.get(target), newer.handle);
    detachNewer();
    assert.equal(terminals.get(target), undefined);
  });
});

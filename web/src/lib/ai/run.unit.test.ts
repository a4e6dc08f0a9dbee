import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type TerminalHandle, terminals } from '../workspace/terminals.svelte.ts';

/** A terminal as Terminal.svelte registers it, recording what is pasted (never with an Enter added). */
function fakeTerminal(options: { ready: boolean; bracketed: boolean }) {
  const pasted: string[] = [];
  const typed: string[] = [];
  const handle: TerminalHandle = {
    ready: options.ready,
    bracketedPaste: options.bracketed,
    type: (text) => typed.push(text) > 0,
    paste: (text) => pasted.push(text) > 0,
    focus: () => {},
  };
  return { handle, pasted, typed };
}

describe('"Run in terminal": the command is typed for review, never run', () => {
  const target = { kind: 'pod', tenantId: 'acme', podId: 'ai-run' } as const;

  test('a ready terminal gets the text as a paste, without Enter; nothing goes through the Enter path', () => {
    const terminal = fakeTerminal({ ready: true, bracketed: false });
    const detach = terminals.attach(target, terminal.handle);
    try {
      assert.equal(terminals.typeForReview(target, 'docker logs web'), 'typed');
      assert.deepEqual(terminal.pasted, ['docker logs web']);
      assert.deepEqual(terminal.typed, []);
    } finally {
      detach();
    }
  });

  test('several lines only into a shell that holds a paste until Enter', () => {
    const plain = fakeTerminal({ ready: true, bracketed: false });
    let detach = terminals.attach(target, plain.handle);
    try {
      assert.equal(terminals.typeForReview(target, 'cd /data\nrm -rf cache'), 'would-run-lines');
      assert.deepEqual(plain.pasted, []);
    } finally {
      detach();
    }
    const bracketed = fakeTerminal({ ready: true, bracketed: true });
    detach = terminals.attach(target, bracketed.handle);
    try {
      assert.equal(terminals.typeForReview(target, 'cd /data\nls'), 'typed');
      assert.deepEqual(bracketed.pasted, ['cd /data\nls']);
    } finally {
      detach();
    }
  });

  test('no terminal, or one not running yet: nothing is typed and nothing is queued for later', () => {
    assert.equal(terminals.typeForReview(target, 'uptime'), 'no-terminal');
    const starting = fakeTerminal({ ready: false, bracketed: true });
    const detach = terminals.attach(target, starting.handle);
    try {
      assert.equal(terminals.typeForReview(target, 'uptime'), 'no-terminal');
      assert.deepEqual(starting.pasted, []);
      assert.equal(terminals.isWanted(target), false);
      assert.deepEqual(terminals.takePending(target), []);
    } finally {
      detach();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TERMINAL_CLOSE } from '@agentpod/contracts';
import { parseCommandLine, usageLine } from '../args.ts';
import { podExecCommand } from './exec.ts';
import { signalExitCode } from './terminal-client.ts';
import { closeError, socketUrl } from './terminal-client-socket.ts';

describe('pod exec command line', () => {
  test('everything after -- is the command, its own options included', () => {
    const parsed = parseCommandLine(podExecCommand, ['acme/web', '-it', '--', 'ls', '-la', '--color']);
    assert.deepEqual(parsed.args, { 'tenant/pod': 'acme/web', command: ['ls', '-la', '--color'] });
    assert.deepEqual(parsed.options, { interactive: true, tty: true });
    assert.deepEqual(parseCommandLine(podExecCommand, ['acme/web']).args, { 'tenant/pod': 'acme/web', command: [] });
    assert.equal(usageLine(podExecCommand), 'agentpod pod exec <tenant/pod> [-- command...] [options]');
  });
});

describe('terminal client', () => {
  test('the socket URL keeps the gateway’s path prefix and scheme (wss for https)', () => {
    assert.equal(socketUrl('http://127.0.0.1:8080', '/api/v1/x').href, 'ws://127.0.0.1:8080/api/v1/x');
    assert.equal(socketUrl('https://host/agentpod/', '/api/v1/x').href, 'wss://host/agentpod/api/v1/x');
  });

  test('a process killed by a signal exits as a shell reports it', () => {
    assert.equal(signalExitCode('SIGKILL'), 137);
    assert.equal(signalExitCode('SIGHUP'), 129);
    assert.equal(signalExitCode('SIGNOPE'), 1);
    assert.equal(signalExitCode(undefined), 1);
  });

  test('close codes without a message become errors of the right class', () => {
    assert.equal(closeError(TERMINAL_CLOSE.accessLost, '').code, 'forbidden');
    assert.equal(closeError(TERMINAL_CLOSE.idle, '').code, 'timeout');
    assert.equal(closeError(TERMINAL_CLOSE.agentGone, '').code, 'unavailable');
    assert.equal(closeError(TERMINAL_CLOSE.protocol, '').code, 'internal');
    assert.match(closeError(1006, '').message, /connection to the gateway was lost/);
  });
});

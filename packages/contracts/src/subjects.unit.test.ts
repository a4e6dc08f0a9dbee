import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  agentSubjects,
  aggregateIdOf,
  CONTEXTS,
  commandSubject,
  eventSubject,
  eventSubjects,
  healthSubject,
  querySubject,
  streamName,
} from './subjects.ts';

/** Ids that would widen a subscription, split a subject, or are not one token. */
const BAD_TOKENS = [
  '',
  'a.b',
  '.',
  '*',
  '>',
  'pod*',
  'pod>',
  'a b',
  ' pod',
  'pod ',
  'a\tb',
  'a\nb',
  'a\rb',
  'pod\u0000',
  'pød',
  'x'.repeat(129),
];

describe('subject builders', () => {
  test('build the documented subjects', () => {
    assert.equal(streamName('pods'), 'PODS');
    assert.equal(eventSubjects('tenants'), 'tenants.evt.>');
    assert.equal(eventSubject('pods', 'pod_01-A'), 'pods.evt.pod_01-A');
    assert.equal(eventSubject('pods', 'x'.repeat(128)), `pods.evt.${'x'.repeat(128)}`);
    assert.equal(commandSubject('pods', 'createPod'), 'pods.cmd.createPod');
    assert.equal(querySubject('identity', 'get-user'), 'identity.qry.get-user');
    assert.equal(healthSubject('gateway'), 'gateway.qry.health');
    assert.equal(agentSubjects.all('node-1'), 'agent.node-1.>');
    assert.equal(agentSubjects.command('node-1', 'startContainer'), 'agent.node-1.cmd.startContainer');
    assert.equal(agentSubjects.heartbeat('node-1'), 'agent.node-1.heartbeat');
    assert.equal(agentSubjects.metrics('node-1'), 'agent.node-1.metrics');
    assert.equal(agentSubjects.session('node-1', 's-9', 'in'), 'agent.node-1.session.s-9.in');
  });

  test('reject an aggregate, node or session id that is not exactly one safe token', () => {
    for (const bad of BAD_TOKENS) {
      const shown = JSON.stringify(bad);
      assert.throws(() => eventSubject('pods', bad), /not a valid subject token/, `aggregate id ${shown}`);
      assert.throws(() => agentSubjects.all(bad), /not a valid subject token/, `node id ${shown}`);
      assert.throws(() => agentSubjects.command(bad, 'start'), /node id/, `node id ${shown}`);
      assert.throws(() => agentSubjects.heartbeat(bad), /node id/, `node id ${shown}`);
      assert.throws(() => agentSubjects.metrics(bad), /node id/, `node id ${shown}`);
      assert.throws(() => agentSubjects.session(bad, 's-1', 'out'), /node id/, `node id ${shown}`);
      assert.throws(() => agentSubjects.session('node-1', bad, 'out'), /session id/, `session id ${shown}`);
    }
  });

  test('reject command, query and agent op names with dots, wildcards or spaces', () => {
    for (const bad of ['', 'create.pod', '*', '>', 'create*', 'create pod', 'create\tpod', 'CreatePod', '1pod']) {
      const shown = JSON.stringify(bad);
      assert.throws(() => commandSubject('pods', bad), /command name/, shown);
      assert.throws(() => querySubject('pods', bad), /query name/, shown);
      assert.throws(() => agentSubjects.command('node-1', bad), /agent op/, shown);
    }
  });

  test('whatever the id, a built event subject is three literal tokens, or the builder throws', () => {
    // Mostly characters that matter to NATS, so both outcomes are common; plus arbitrary Unicode.
    const id = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'aZ09_-.*> \t\n'), maxLength: 140 }),
      fc.string({ unit: 'binary', maxLength: 140 }),
    );
    let built = 0;
    fc.assert(
      fc.property(fc.constantFrom(...CONTEXTS), id, (context, aggregateId) => {
        const acceptable = /^[A-Za-z0-9_-]{1,128}$/.test(aggregateId);
        let subject: string;
        try {
          subject = eventSubject(context, aggregateId);
        } catch {
          assert.equal(acceptable, false, `rejected ${JSON.stringify(aggregateId)}`);
          return;
        }
        built++;
        const tokens = subject.split('.');
        assert.equal(tokens.length, 3);
        assert.deepEqual(tokens.slice(0, 2), [context, 'evt']);
        assert.doesNotMatch(subject, /[*>\s]/);
        assert.equal(aggregateIdOf(subject), aggregateId);
      }),
      { numRuns: 500 },
    );
    assert.ok(built > 10, `only ${built} ids were accepted: the property barely ran`);
  });

  test('aggregateIdOf reads back the id of an event subject and nothing else', () => {
    assert.equal(aggregateIdOf('pods.evt.pod-1'), 'pod-1');
    assert.equal(aggregateIdOf('pods.cmd.createPod'), undefined);
    assert.equal(aggregateIdOf('pods.evt.a.b'), undefined);
    assert.equal(aggregateIdOf('pods.evt'), undefined);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topics, filters, parseTopic, checkId } from '../../protocol/topics.js';
import { ProtocolError } from '../../protocol/errors.js';

const NODE = '0123456789abcdef0123456789abcdef';
const HASH = 'ab'.repeat(32);

test('every topic round-trips through parseTopic', () => {
  assert.deepEqual(parseTopic(topics.cap('eu', NODE)), { type: 'cap', region: 'eu', nodeId: NODE });
  assert.deepEqual(parseTopic(topics.status('eu', NODE)), { type: 'status', region: 'eu', nodeId: NODE });
  assert.deepEqual(parseTopic(topics.assign('eu', NODE)), { type: 'assign', region: 'eu', nodeId: NODE });
  assert.deepEqual(parseTopic(topics.ack('eu', NODE)), { type: 'ack', region: 'eu', nodeId: NODE });
  assert.deepEqual(parseTopic(topics.offer('eu')), { type: 'offer', region: 'eu' });
  assert.deepEqual(parseTopic(topics.bids('eu')), { type: 'bids', region: 'eu' });
  assert.deepEqual(parseTopic(topics.results('eu')), { type: 'results', region: 'eu' });
  assert.deepEqual(parseTopic(topics.proofs('eu')), { type: 'proofs', region: 'eu' });
  assert.deepEqual(parseTopic(topics.module(HASH)), { type: 'module', hash: HASH });
  assert.equal(topics.cap('eu', NODE), `swarm/v1/eu/cap/${NODE}`);
  assert.equal(filters.caps('+'), 'swarm/v1/+/cap/+');
});

test('ids and regions with +, #, / or NUL are refused', () => {
  for (const bad of ['a+b', '#', 'a/b', 'a\0b', '', 'x'.repeat(65), 'é']) {
    assert.throws(() => topics.cap(bad, NODE), ProtocolError, `region ${JSON.stringify(bad)}`);
    assert.throws(() => topics.cap('eu', bad), ProtocolError, `node ${JSON.stringify(bad)}`);
    assert.throws(() => checkId(bad), ProtocolError);
  }
  assert.throws(() => topics.offer('modules'), /reserved/);
  assert.throws(() => topics.module('xyz'), ProtocolError);
});

test('parseTopic returns null for anything else', () => {
  for (const t of ['', 'swarm/v1', 'swarm/v2/eu/offer', 'swarm/v1/eu/offer/x', 'swarm/v1/eu/cap', 'swarm/v1/eu/cap/a+b',
    'swarm/v1/eu/node/x/other', 'swarm/v1/modules/abc', 'swarm/v1/+/offer', 'swarm/v1/eu/gw/other', '$SYS/x']) {
    assert.equal(parseTopic(t), null, t);
  }
});

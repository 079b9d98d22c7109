import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListenContext } from '../../src/config/listen-context.js';

describe('ListenContext', () => {
  it('indexes keys by connection (with md5) and connections by key', () => {
    const context = new ListenContext();
    context.listen('c1', 'a+G', 'md5-a');
    context.listen('c2', 'a+G', '');
    context.listen('c1', 'b+G', 'md5-b');
    context.listen('c1', 'a+G', 'md5-a2');
    assert.deepEqual(context.listeners('a+G').sort(), ['c1', 'c2']);
    assert.equal(context.md5Of('c1', 'a+G'), 'md5-a2', 'a repeated listen updates the md5');
    assert.equal(context.keyCount, 2);
    assert.equal(context.connectionCount, 2);
  });

  it('unlisten removes one key of one connection and empty entries', () => {
    const context = new ListenContext();
    context.listen('c1', 'a+G', 'x');
    context.listen('c2', 'a+G', 'x');
    context.unlisten('c1', 'a+G');
    assert.deepEqual(context.listeners('a+G'), ['c2']);
    assert.equal(context.md5Of('c1', 'a+G'), undefined);
    assert.equal(context.connectionCount, 1);
    context.unlisten('c2', 'a+G');
    assert.equal(context.keyCount, 0);
    context.unlisten('c9', 'zz');
  });

  it('clearConnection forgets every key of that connection only', () => {
    const context = new ListenContext();
    context.listen('c1', 'a+G', 'x');
    context.listen('c1', 'b+G', 'x');
    context.listen('c2', 'b+G', 'y');
    context.clearConnection('c1');
    assert.deepEqual(context.listeners('a+G'), []);
    assert.deepEqual(context.listeners('b+G'), ['c2']);
    assert.equal(context.keyCount, 1);
    assert.equal(context.connectionCount, 1);
    context.clearConnection('c1');
  });

  it('listeners returns a copy: changing the context while iterating is safe', () => {
    const context = new ListenContext();
    context.listen('c1', 'a+G', 'x');
    const listeners = context.listeners('a+G');
    context.clearConnection('c1');
    assert.deepEqual(listeners, ['c1']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedoAction, RedoEntries } from '../../src/client/naming-redo.js';

function actions(entries: RedoEntries<string>): Record<string, string> {
  return Object.fromEntries(entries.pending().map(({ entry, action }) => [entry.key, action]));
}

describe('naming redo entries (Java NamingGrpcRedoService)', () => {
  it('a registration is redone after the connection is gone, and not before', () => {
    const entries = new RedoEntries<string>();
    entries.cache('G@@a', 'a');
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.REGISTER }, 'not yet accepted: a redo would send it');
    entries.registered('G@@a');
    assert.deepEqual(actions(entries), {});
    assert.equal(entries.isRegistered('G@@a'), true);
    entries.markUnregistered();
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.REGISTER });
    assert.equal(entries.isRegistered('G@@a'), false);
  });

  it('a deregister accepted by the server leaves an entry to remove, which the next pass drops', () => {
    const entries = new RedoEntries<string>();
    entries.cache('G@@a', 'a');
    entries.registered('G@@a');
    entries.deregister('G@@a');
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.UNREGISTER }, 'a deregister that failed is sent again');
    entries.deregistered('G@@a');
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.REMOVE });
    entries.remove('G@@a');
    assert.equal(entries.get('G@@a'), undefined);
  });

  it('a deregister racing a redo: the redo\'s register lands after the deregister, so the next pass deregisters again', () => {
    const entries = new RedoEntries<string>();
    entries.cache('G@@a', 'a');
    entries.registered('G@@a');
    entries.markUnregistered();
    // The redo pass picks the entry up and sends its register ...
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.REGISTER });
    // ... the application deregisters while it is in flight, and its deregister lands first ...
    entries.deregister('G@@a');
    entries.deregistered('G@@a');
    // ... then the redo's register is accepted: the server holds an instance nobody wants.
    entries.registered('G@@a');
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.UNREGISTER });
    entries.deregistered('G@@a');
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.REMOVE });
  });

  it('a deregister while disconnected is not sent again: the server dropped the connection\'s instances anyway', () => {
    const entries = new RedoEntries<string>();
    entries.cache('G@@a', 'a');
    entries.registered('G@@a');
    entries.markUnregistered();
    entries.deregister('G@@a');
    assert.deepEqual(actions(entries), { 'G@@a': RedoAction.REMOVE });
  });

  it('remove keeps an entry registered anew after the deregister', () => {
    const entries = new RedoEntries<string>();
    entries.cache('G@@a', 'old');
    entries.deregister('G@@a');
    entries.cache('G@@a', 'new');
    entries.remove('G@@a');
    assert.equal(entries.get('G@@a')?.data, 'new');
  });
});

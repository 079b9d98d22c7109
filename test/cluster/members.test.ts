import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemberListError, parseClusterConf, parseMembersOption, requireSelf } from '../../src/cluster/members.js';

describe('member lists', () => {
  it('parses --members and cluster.conf (comments, blank lines, default port)', () => {
    assert.deepEqual(
      parseMembersOption('10.0.0.1:8848, 10.0.0.2:8848,10.0.0.3').map((m) => m.address),
      ['10.0.0.1:8848', '10.0.0.2:8848', '10.0.0.3:8848'],
    );
    const conf = '# members\n10.0.0.1:8848\n\n  10.0.0.2:8848   # second\n[::1]:8848\n';
    assert.deepEqual(parseClusterConf(conf, 'cluster.conf').map((m) => m.address), ['10.0.0.1:8848', '10.0.0.2:8848', '[::1]:8848']);
  });

  it('rejects duplicates, garbage lines and bad ports, naming the line', () => {
    assert.throws(() => parseMembersOption('10.0.0.1:8848,10.0.0.1:8848'), (e: Error) => e instanceof MemberListError && /listed twice/.test(e.message));
    assert.throws(() => parseClusterConf('10.0.0.1:8848\nnot a member!\n', 'c.conf'), (e: Error) => /c\.conf line 2/.test(e.message));
    assert.throws(() => parseClusterConf('10.0.0.1:99999\n', 'c.conf'), (e: Error) => /line 1.*bad port/.test(e.message));
    assert.throws(() => parseMembersOption('10.0.0.1:8848,10.0.0.2:x'), (e: Error) => /entry 2/.test(e.message));
  });

  it('requires self to be listed', () => {
    const members = parseMembersOption('10.0.0.1:8848,10.0.0.2:8848');
    assert.doesNotThrow(() => requireSelf(members, '10.0.0.2:8848', '--members'));
    assert.throws(() => requireSelf(members, '10.0.0.3:8848', '--members'), (e: Error) => /does not list this node \(10\.0\.0\.3:8848\)/.test(e.message));
  });
});

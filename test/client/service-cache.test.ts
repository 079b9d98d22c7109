import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceInfoCache, serviceInfoKey, type InstancesChangeEvent } from '../../src/client/service-cache.js';
import type { InstanceJson, ServiceInfoJson } from '../../src/protocol/naming/index.js';

function host(ip: string, port: number, extra: Partial<InstanceJson> = {}): InstanceJson {
  return {
    ip, port, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', serviceName: 'G@@s', metadata: {},
    instanceHeartBeatInterval: 5000, instanceHeartBeatTimeOut: 15000, ipDeleteTimeout: 30000, ...extra,
  };
}

function info(lastRefTime: number, hosts: InstanceJson[], clusters = ''): ServiceInfoJson {
  return { name: 's', groupName: 'G', clusters, cacheMillis: 10000, hosts, lastRefTime, checksum: '', allIPs: false, reachProtectionThreshold: false, valid: true };
}

function recording(): { cache: ServiceInfoCache; events: InstancesChangeEvent[]; errors: unknown[] } {
  const events: InstancesChangeEvent[] = [];
  const errors: unknown[] = [];
  const cache = new ServiceInfoCache((error) => errors.push(error));
  cache.addListener('G@@s', (event) => events.push(event));
  return { cache, events, errors };
}

describe('naming service cache (Java ServiceInfoHolder)', () => {
  it('keys a service as Nacos does: group@@name, then @@clusters when selected', () => {
    assert.equal(serviceInfoKey('G', 's', ''), 'G@@s');
    assert.equal(serviceInfoKey('G', 's', 'A,B'), 'G@@s@@A,B');
  });

  it('tells listeners the first list and every change, not a push that changes nothing', () => {
    const { cache, events } = recording();
    assert.equal(cache.apply(info(1, [host('10.0.0.1', 80)])), true);
    assert.equal(cache.apply(info(2, [host('10.0.0.1', 80)])), false, 'same hosts, newer time: no call');
    assert.equal(cache.apply(info(3, [host('10.0.0.1', 80, { metadata: { v: '2' } })])), true, 'a modified host is a change');
    assert.equal(cache.apply(info(4, [host('10.0.0.1', 80, { metadata: { v: '2' } }), host('10.0.0.2', 80)])), true);
    assert.equal(cache.apply(info(5, [host('10.0.0.2', 80)])), true, 'a removal is a change');
    assert.equal(cache.apply(info(6, [])), true, 'an empty list is applied (no push-empty protection, as Java by default)');
    assert.deepEqual(events.map((e) => e.instances.map((h) => `${h.ip}:${h.port}`)), [['10.0.0.1:80'], ['10.0.0.1:80'], ['10.0.0.1:80', '10.0.0.2:80'], ['10.0.0.2:80'], []]);
    assert.deepEqual(cache.get('G@@s')?.lastRefTime, 6);
  });

  it('drops a ServiceInfo older than the cached one (an answer and a push that crossed)', () => {
    const { cache, events } = recording();
    cache.apply(info(10, [host('10.0.0.1', 80), host('10.0.0.2', 80)]));
    assert.equal(cache.apply(info(9, [host('10.0.0.1', 80)])), false);
    assert.equal(cache.get('G@@s')?.hosts.length, 2, 'the newer data stays');
    assert.equal(events.length, 1);
  });

  it('after a server change the next ServiceInfo is taken whatever its time (another member\'s clock), then ordering resumes', () => {
    const { cache, events } = recording();
    cache.apply(info(10, [host('10.0.0.1', 80)]));
    cache.serverChanged();
    assert.equal(cache.apply(info(5, [host('10.0.0.2', 80)])), true);
    assert.equal(cache.apply(info(4, [])), false, 'older than the new server\'s own');
    assert.deepEqual(events.map((e) => e.instances.map((h) => h.ip)), [['10.0.0.1'], ['10.0.0.2']]);
  });

  it('the metadata order of a host is not a change', () => {
    const { cache, events } = recording();
    cache.apply(info(1, [host('10.0.0.1', 80, { metadata: { a: '1', b: '2' } })]));
    cache.apply(info(2, [host('10.0.0.1', 80, { metadata: { b: '2', a: '1' } })]));
    assert.equal(events.length, 1);
  });

  it('a listener added to a cached service hears the current list at once; removal counts the rest', () => {
    const { cache, events } = recording();
    cache.apply(info(1, [host('10.0.0.1', 80)]));
    const late: InstancesChangeEvent[] = [];
    const listener = (event: InstancesChangeEvent): void => void late.push(event);
    cache.addListener('G@@s', listener);
    assert.equal(late.length, 1);
    assert.equal(events.length, 1, 'the earlier listener is not told again');
    assert.equal(cache.removeListener('G@@s', listener), 1);
    cache.apply(info(2, []));
    assert.equal(late.length, 1);
  });

  it('a throwing listener is reported and the others are still told', () => {
    const { cache, events, errors } = recording();
    const boom = new Error('boom');
    cache.addListener('G@@s', () => {
      throw boom;
    });
    cache.addListener('G@@s', (event) => events.push(event));
    cache.apply(info(1, [host('10.0.0.1', 80)]));
    assert.deepEqual(errors, [boom]);
    assert.equal(events.length, 2);
  });

  it('a selection of clusters is its own entry, with its own listeners', () => {
    const { cache, events } = recording();
    cache.apply(info(1, [host('10.0.0.1', 80, { clusterName: 'A' })], 'A'));
    assert.equal(events.length, 0);
    assert.equal(cache.get('G@@s@@A')?.hosts.length, 1);
  });
});

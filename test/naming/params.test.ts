import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NamingParamError } from '../../src/naming/errors.js';
import { serviceKey } from '../../src/naming/model.js';
import { serviceNameOf } from '../../src/naming/params.js';

const refused = (group: string, serviceName: string, field: string) =>
  assert.throws(
    () => serviceNameOf({ namespace: 'public', groupName: group, serviceName }),
    (error: unknown) => error instanceof NamingParamError && error.message.includes(`'${field}'`),
    `${group} / ${serviceName}`,
  );

describe('naming params: a group and service name split one way only (two services sharing one key)', () => {
  it('refuses @@ in a group or service name, a group ending in @ and a service name starting with @', () => {
    // Each pair below would spell the same `group@@name` as a legal pair: a@@b / c is a / b@@c, a@ / b is a / @b.
    refused('a@@b', 'c', 'groupName');
    refused('a', 'b@@c', 'serviceName');
    refused('a@', 'b', 'groupName');
    refused('a', '@b', 'serviceName');
  });

  it('takes single @ inside names, as Nacos does', () => {
    assert.deepEqual(serviceNameOf({ namespace: 'public', groupName: 'team@x', serviceName: 'mail@y' }), { namespace: 'public', group: 'team@x', name: 'mail@y' });
  });

  it('keys a service by its three fields, so no two services share a key', () => {
    const one = serviceKey({ namespace: 'public', group: 'a@@b', name: 'c' });
    const other = serviceKey({ namespace: 'public', group: 'a', name: 'b@@c' });
    assert.notEqual(one, other);
  });
});

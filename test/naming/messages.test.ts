import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineNamingTypes, notifySubscriberRequest, namingResponse } from '../../src/naming/messages.js';
import { selectServiceInfo } from '../../src/naming/model.js';
import { decodeEnvelope, decodePayload, encodePayload, InvalidBodyError, MessageRegistry } from '../../src/protocol/index.js';

function registry(): MessageRegistry {
  const r = MessageRegistry.connectionLayer();
  defineNamingTypes(r);
  return r;
}

function jsonOf(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(decodeEnvelope(bytes).body).toString('utf8')) as Record<string, unknown>;
}

function decodeRequest(type: string, json: Record<string, unknown>) {
  const bytes = encodePayload({ kind: 'request', type, headers: {}, body: json }, { registry: registry() });
  return decodePayload(bytes, registry());
}

describe('naming messages', () => {
  it('a push is NotifySubscriberRequest with module naming and only serviceInfo, as Nacos writes it', () => {
    const info = selectServiceInfo({ service: { namespace: 'public', group: 'G', name: 's' }, hosts: [], revision: 1, builtAt: 0 }, { clusters: '', healthyOnly: false }, 42);
    const bytes = encodePayload({ ...notifySubscriberRequest(info), requestId: '7' }, { registry: registry() });
    assert.equal(decodeEnvelope(bytes).type, 'NotifySubscriberRequest');
    assert.deepEqual(jsonOf(bytes), { headers: {}, requestId: '7', serviceInfo: { ...info }, module: 'naming' });
  });

  it('answers carry their own fields and success', () => {
    const bytes = encodePayload(namingResponse('InstanceResponse', { type: 'registerInstance' }), { registry: registry() });
    assert.deepEqual(jsonOf(bytes), { resultCode: 200, errorCode: 0, type: 'registerInstance', success: true });
  });

  it('parses an InstanceRequest as Java sends it, ignoring unknown and derived fields', () => {
    const message = decodeRequest('InstanceRequest', {
      namespace: 'public',
      serviceName: 'orders',
      groupName: 'DEFAULT_GROUP',
      type: 'registerInstance',
      instance: {
        ip: '10.0.0.5', port: 8080, weight: 1.0, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT',
        metadata: { k: 'v', n: 1 }, instanceHeartBeatInterval: 5000, instanceIdGenerator: 'simple', serviceName: null,
      },
    });
    assert.equal(message.kind, 'request');
    assert.deepEqual(message.body, {
      namespace: 'public',
      serviceName: 'orders',
      groupName: 'DEFAULT_GROUP',
      type: 'registerInstance',
      instance: { ip: '10.0.0.5', port: 8080, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: { k: 'v', n: '1' } },
    });
  });

  it('fills Java\'s primitive defaults for query, subscribe and list', () => {
    assert.deepEqual(decodeRequest('ServiceQueryRequest', { serviceName: 's' }).body, { serviceName: 's', healthyOnly: false, udpPort: 0 });
    assert.deepEqual(decodeRequest('SubscribeServiceRequest', { serviceName: 's' }).body, { serviceName: 's', subscribe: false });
    assert.deepEqual(decodeRequest('ServiceListRequest', {}).body, { pageNo: 0, pageSize: 0 });
  });

  it('names the field of a wrong JSON shape', () => {
    assert.throws(() => decodeRequest('InstanceRequest', { instance: 'x' }), (e) => e instanceof InvalidBodyError && /'instance' must be an object/.test(e.message));
    assert.throws(() => decodeRequest('BatchInstanceRequest', { instances: [{ weight: 'heavy' }] }), /'instances\[0\]\.weight' must be a number/);
    assert.throws(() => decodeRequest('SubscribeServiceRequest', { subscribe: 'yes' }), /'subscribe' must be a boolean/);
    assert.throws(() => decodeRequest('InstanceRequest', { instance: { metadata: { a: {} } } }), /'instance\.metadata\.a' must be a string/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineNamingTypes } from '../../src/naming/messages.js';
import type { InstanceJson, ServiceInfoJson } from '../../src/naming/model.js';
import { decodePayload, defaultRegistry, encodePayload, type RequestMessage, type ResponseMessage } from '../../src/protocol/index.js';
import { startTestNode } from '../support/node.js';
import { metricValue, parsePrometheus } from '../support/prometheus.js';
import { RawPeer } from '../support/raw-peer.js';

// This test process's codec learns the naming types, so RawPeer decodes the pushes and answers.
defineNamingTypes(defaultRegistry);

const NAMING_LABELS = { source: 'sdk', module: 'naming', AppName: 'orders-app' };

function namingRequest(type: string, body: Record<string, unknown>): RequestMessage {
  return { kind: 'request', type, headers: {}, body: { namespace: 'public', groupName: 'DEFAULT_GROUP', ...body } };
}

async function call(peer: RawPeer, type: string, body: Record<string, unknown>): Promise<ResponseMessage> {
  const reply = decodePayload(await peer.unaryRaw(encodePayload(namingRequest(type, body), { clientIp: '127.0.0.1' })));
  assert.equal(reply.kind, 'response');
  return reply as ResponseMessage;
}

function instance(ip: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ip, port, weight: 1.0, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {}, ...extra };
}

const hostsOf = (info: unknown): string[] => (info as ServiceInfoJson).hosts.map((h: InstanceJson) => `${h.ip}:${h.port}`).sort();

describe('naming on a node, driven by raw protocol peers', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  const peers: RawPeer[] = [];
  let publisher: RawPeer;
  let subscriber: RawPeer;

  const newPeer = async (): Promise<RawPeer> => {
    const peer = new RawPeer('127.0.0.1', node.server.ports.sdk);
    peers.push(peer);
    await peer.register(NAMING_LABELS);
    return peer;
  };
  /** The latest NotifySubscriberRequest's instances once `check` holds for them. */
  const pushedHosts = (peer: RawPeer, expected: string[], what: string) =>
    peer.waitFor(
      () => {
        const pushes = peer.pushesOf('NotifySubscriberRequest');
        const last = pushes[pushes.length - 1];
        return last !== undefined && JSON.stringify(hostsOf(last.body['serviceInfo'])) === JSON.stringify(expected) && last;
      },
      5000,
      what,
    );

  before(async () => {
    node = await startTestNode();
    publisher = await newPeer();
    subscriber = await newPeer();
  });
  after(async () => {
    for (const peer of peers) peer.close();
    await node.dispose();
  });

  it('a subscriber hears of a registration on another connection, and of its end when that connection closes', async () => {
    const subscribed = await call(subscriber, 'SubscribeServiceRequest', { serviceName: 'orders', subscribe: true, clusters: '' });
    assert.equal(subscribed.type, 'SubscribeServiceResponse');
    assert.equal(subscribed.resultCode, 200);
    assert.equal(subscribed.message, 'success');
    assert.deepEqual(hostsOf(subscribed.body['serviceInfo']), []);
    await pushedHosts(subscriber, [], 'the push confirming the subscription');

    const registered = await call(publisher, 'InstanceRequest', { serviceName: 'orders', type: 'registerInstance', instance: instance('10.1.0.5', 8080) });
    assert.equal(registered.type, 'InstanceResponse');
    assert.equal(registered.body['type'], 'registerInstance');
    const push = await pushedHosts(subscriber, ['10.1.0.5:8080'], 'the push of the registration');
    const info = push.body['serviceInfo'] as ServiceInfoJson;
    assert.equal(info.name, 'orders');
    assert.equal(info.groupName, 'DEFAULT_GROUP');
    assert.equal(info.hosts[0]?.serviceName, 'DEFAULT_GROUP@@orders');

    const queried = await call(subscriber, 'ServiceQueryRequest', { serviceName: 'orders', healthyOnly: false });
    assert.equal(queried.type, 'QueryServiceResponse');
    assert.deepEqual(hostsOf(queried.body['serviceInfo']), ['10.1.0.5:8080']);

    const listed = await call(subscriber, 'ServiceListRequest', { pageNo: 1, pageSize: 10 });
    assert.equal(listed.type, 'ServiceListResponse');
    assert.deepEqual({ count: listed.body['count'], names: listed.body['serviceNames'] }, { count: 1, names: ['orders'] });

    const gone = await newPeer();
    await call(gone, 'InstanceRequest', { serviceName: 'orders', type: 'registerInstance', instance: instance('10.1.0.6', 8080) });
    await pushedHosts(subscriber, ['10.1.0.5:8080', '10.1.0.6:8080'], 'the second registration');
    gone.close();
    await pushedHosts(subscriber, ['10.1.0.5:8080'], 'the release of the closed connection');
    const after = await call(subscriber, 'ServiceQueryRequest', { serviceName: 'orders' });
    assert.deepEqual(hostsOf(after.body['serviceInfo']), ['10.1.0.5:8080']);
  });

  it('bad parameters get Nacos error codes with clear messages, and leave stored data and other connections intact', async () => {
    await call(publisher, 'InstanceRequest', { serviceName: 'billing', type: 'registerInstance', instance: instance('10.1.0.7', 7070) });
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ serviceName: '', type: 'registerInstance', instance: instance('10.1.0.8', 1) }, 400, /serviceName is blank/],
      [{ serviceName: 'billing', type: 'updateInstance', instance: instance('10.1.0.8', 1) }, 400, /Unsupported request type updateInstance/],
      [{ serviceName: 'billing', type: 'registerInstance' }, 400, /'instance' is required/],
      [{ serviceName: 'billing', type: 'registerInstance', instance: instance('', 1) }, 400, /instance\.ip/],
      [{ serviceName: 'billing', type: 'registerInstance', instance: instance('10.1.0.8', 70000) }, 400, /instance\.port/],
      [{ serviceName: 'billing', type: 'registerInstance', instance: instance('10.1.0.8', 1, { clusterName: 'a b' }) }, 400, /clusterName/],
      [{ serviceName: 'billing', type: 'registerInstance', instance: instance('10.1.0.8', 1, { port: 'x' }) }, 502, /instance\.port' must be a number/],
    ];
    for (const [body, errorCode, message] of cases) {
      const reply = await call(publisher, 'InstanceRequest', body);
      assert.equal(reply.type, 'ErrorResponse', JSON.stringify(body));
      assert.equal(reply.errorCode, errorCode, JSON.stringify(body));
      assert.match(reply.message ?? '', message);
    }
    const batch = await call(publisher, 'BatchInstanceRequest', { serviceName: 'billing', type: 'batchDeregisterInstance', instances: [] });
    assert.equal(batch.errorCode, 400);
    const noList = await call(publisher, 'BatchInstanceRequest', { serviceName: 'billing', type: 'batchRegisterInstance' });
    assert.equal(noList.errorCode, 400);
    assert.match(noList.message ?? '', /'instances' is required/);
    const badOne = await call(publisher, 'BatchInstanceRequest', {
      serviceName: 'billing',
      type: 'batchRegisterInstance',
      instances: [instance('10.1.0.8', 1), instance('10.1.0.8', 2, { clusterName: '!' })],
    });
    assert.equal(badOne.errorCode, 400);
    assert.match(badOne.message ?? '', /clusterName/);

    const billing = await call(subscriber, 'ServiceQueryRequest', { serviceName: 'billing' });
    assert.deepEqual(hostsOf(billing.body['serviceInfo']), ['10.1.0.7:7070']);
    assert.equal(node.server.manager.count, 2);
  });

  it('answers the v2 open API reads and refuses persistent registration over HTTP with 501', async () => {
    const list = await node.http.inject({ url: '/nacos/v2/ns/instance/list?serviceName=orders' });
    assert.equal(list.statusCode, 200);
    const body = list.json() as { code: number; message: string; data: ServiceInfoJson };
    assert.equal(body.code, 0);
    assert.equal(body.message, 'success');
    assert.deepEqual(hostsOf(body.data), ['10.1.0.5:8080']);

    const services = await node.http.inject({ url: '/nacos/v2/ns/service/list?pageNo=1&pageSize=10' });
    assert.deepEqual(services.json(), { code: 0, message: 'success', data: { count: 2, services: ['billing', 'orders'] } });

    assert.equal((await node.http.inject({ url: '/nacos/v2/ns/instance/list' })).statusCode, 400);
    assert.equal((await node.http.inject({ url: '/nacos/v2/ns/service/list?pageNo=0' })).statusCode, 400);

    // As the Java client posts it: a form body.
    const persistent = await node.http.inject({
      method: 'POST',
      url: '/nacos/v1/ns/instance',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'serviceName=DEFAULT_GROUP%40%40orders&ip=10.1.0.9&port=1&ephemeral=false',
    });
    assert.equal(persistent.statusCode, 501);
    assert.match((persistent.json() as { message: string }).message, /persistent instances are not supported/);
  });

  it('reports naming figures and pushes in /metrics', async () => {
    const samples = parsePrometheus((await node.http.inject({ url: '/metrics' })).body);
    assert.equal(metricValue(samples, 'nacos_remote_naming', { what: 'services' }), 2);
    assert.equal(metricValue(samples, 'nacos_remote_naming', { what: 'instances' }), 2);
    assert.equal(metricValue(samples, 'nacos_remote_naming', { what: 'subscribers' }), 1);
    assert.ok((metricValue(samples, 'nacos_remote_naming_pushes_total', { outcome: 'acked' }) ) >= 4);
    assert.ok((metricValue(samples, 'nacos_remote_naming_push_seconds_count', {}) ) >= 4);
  });
});

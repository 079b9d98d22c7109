import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidParamError, NamingClient } from '../../src/client/index.js';
import { response, type JsonObject, type RequestMessage, type ResponseMessage } from '../../src/protocol/index.js';
import { FakeNetwork, type FakeClientConnection } from '../support/fake-client-connection.js';
import { ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';

/** What a naming request asked, in short: `register orders`, `deregister orders`, `subscribe orders`. */
function describeRequest(request: RequestMessage): string {
  const body = request.body as JsonObject;
  const what = request.type === 'SubscribeServiceRequest' ? (body['subscribe'] ? 'subscribe' : 'unsubscribe') : String(body['type']).replace('Instance', '');
  return `${what} ${String(body['serviceName'])}`;
}

function answerFor(request: RequestMessage): ResponseMessage {
  const body = request.body as JsonObject;
  if (request.type === 'InstanceRequest') return response('InstanceResponse', { type: body['type'] });
  const serviceInfo = { name: body['serviceName'], groupName: body['groupName'], clusters: '', cacheMillis: 10000, hosts: [], lastRefTime: 1, checksum: '', allIPs: false, reachProtectionThreshold: false, valid: true };
  return response('SubscribeServiceResponse', { serviceInfo });
}

/** The server pushes service `orders` with one instance, as of `lastRefTime` (also the push's request id). */
function pushOrders(connection: FakeClientConnection, lastRefTime: number): void {
  const host = {
    ip: '10.0.0.5', port: 80, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', serviceName: 'DEFAULT_GROUP@@orders',
    metadata: {}, instanceHeartBeatInterval: 5000, instanceHeartBeatTimeOut: 15000, ipDeleteTimeout: 30000,
  };
  const serviceInfo = { name: 'orders', groupName: 'DEFAULT_GROUP', clusters: '', cacheMillis: 10000, hosts: [host], lastRefTime, checksum: '', allIPs: false, reachProtectionThreshold: false, valid: true };
  connection.push({ kind: 'request', type: 'NotifySubscriberRequest', headers: {}, requestId: String(lastRefTime), body: { serviceInfo } });
}

/** A NamingClient over fake servers A and B on a manual clock; answers can be held or failed. */
function setup() {
  const timers = new ManualTimers();
  const net = new FakeNetwork(timers, [A, B]);
  const sent: string[] = [];
  let hold: ((request: RequestMessage) => Promise<ResponseMessage> | undefined) | undefined;
  for (const address of [A, B]) {
    net.server(address).answer = (request) => {
      sent.push(describeRequest(request));
      return hold?.(request) ?? Promise.resolve(answerFor(request));
    };
  }
  const naming = new NamingClient({ serverAddresses: [A, B], logger: testLogger, timers, random: () => 0, connectionFactory: net.factory, redoIntervalMs: 3000 });
  const start = async (): Promise<void> => {
    const started = naming.start();
    await timers.advance(100); // the setup wait
    await started;
  };
  /** Advances the clock in small steps until the check holds (hang guard: 60 s of fake time). */
  const until = async (check: () => boolean, what: string): Promise<void> => {
    for (let waited = 0; !check(); waited += 50) {
      if (waited > 60_000) throw new Error(`never: ${what}; sent ${JSON.stringify(sent)}`);
      await timers.advance(50);
    }
  };
  /**
   * Holds in flight the answer to the request `what` (e.g. `register orders`) the redo sends after
   * `lose()` ends a connection; other requests, and later ones, are answered at once.
   */
  const redoHeld = async (what: string, lose: () => void): Promise<() => void> => {
    let release: (() => void) | undefined;
    hold = (request) => {
      if (describeRequest(request) !== what) return undefined;
      return new Promise((resolve) => (release = () => resolve(answerFor(request))));
    };
    lose();
    await until(() => release !== undefined, 'the redo sends the register');
    hold = undefined;
    return release!;
  };
  /** Ends the current connection's stream and waits until the client is on a new one. */
  const replaceConnection = async (): Promise<void> => {
    const connectionsBefore = net.connections.length;
    net.connections.at(-1)!.endStream();
    await until(() => net.connections.length > connectionsBefore && naming.rpcClient.connectionId === net.connections.at(-1)!.connectionId, 'a new connection');
  };
  return { timers, net, naming, sent, start, until, redoHeld, replaceConnection, setHold: (h: typeof hold) => (hold = h) };
}

describe('NamingClient redo (fake transport, injected clock)', () => {
  it('a deregister racing the redo of a lost connection ends deregistered: the late register is undone on the next pass', async () => {
    const { net, naming, sent, start, until, redoHeld, timers } = setup();
    await start();
    await naming.registerInstance('orders', { ip: '10.0.0.5', port: 80 });
    assert.deepEqual(sent, ['register orders']);

    // The redo's register on the new connection is held in flight ...
    const release = await redoHeld('register orders', () => net.connections[0]!.endStream());
    // ... while the application deregisters, and its deregister is answered first.
    await naming.deregisterInstance('orders');
    release();
    await timers.advance(0);
    assert.deepEqual(sent, ['register orders', 'register orders', 'deregister orders']);

    await until(() => sent.length === 4, 'the next redo pass');
    assert.equal(sent[3], 'deregister orders', 'the register that landed late is undone');
    await timers.advance(10_000);
    assert.equal(sent.length, 4, 'and the entry is gone: nothing more is sent');
  });

  it('a register answered on a connection already replaced is registered again on the new one', async () => {
    // A move: the old connection's in-flight register is answered after the client switched, and
    // the switch's redo joined the pass that sent it. The answer must not count for the new connection.
    const { net, naming, sent, start, until, redoHeld, replaceConnection, timers } = setup();
    await start();
    await naming.registerInstance('orders', { ip: '10.0.0.5', port: 80 });
    const release = await redoHeld('register orders', () => net.connections[0]!.endStream());
    await replaceConnection();
    release();
    await until(() => sent.length === 3, 'a register on the third connection');
    assert.deepEqual(sent, ['register orders', 'register orders', 'register orders']);
    assert.ok(naming.isRegistered('orders'));
    await timers.advance(10_000);
    assert.equal(sent.length, 3, 'and no more');
  });

  it('a subscribe answered on a connection already replaced is sent again on the new one', async () => {
    const { net, naming, sent, start, until, redoHeld, replaceConnection, timers } = setup();
    await start();
    await naming.subscribe('orders', () => {});
    const release = await redoHeld('subscribe orders', () => net.connections[0]!.endStream());
    await replaceConnection();
    release();
    await until(() => sent.length === 3, 'a subscribe on the third connection');
    assert.deepEqual(sent, ['subscribe orders', 'subscribe orders', 'subscribe orders']);
    await timers.advance(10_000);
    assert.equal(sent.length, 3, 'and no more');
  });

  it('a redo that fails (on a connection that stays) is tried again on the next pass, redoIntervalMs later', async () => {
    const { net, naming, sent, start, until, setHold, timers } = setup();
    await start();
    await naming.registerInstance('orders', { ip: '10.0.0.5', port: 80 });
    await naming.subscribe('payments', () => {});
    // An answer of the wrong type fails the call at once, with no retry and no switch.
    setHold(() => Promise.resolve(response('HealthCheckResponse')));
    net.connections[0]!.endStream();
    await until(() => sent.length === 4, 'the first redo, refused');
    assert.deepEqual(sent.slice(2), ['register orders', 'subscribe payments']);
    setHold(undefined);
    const failedAt = timers.now();
    await until(() => sent.length === 6, 'the second redo');
    assert.ok(timers.now() - failedAt <= 3000 + 50, 'within one redo interval');
    assert.deepEqual(sent.slice(4), ['register orders', 'subscribe payments']);
    await timers.advance(10_000);
    assert.equal(sent.length, 6, 'done: nothing more is sent');
  });

  it('a group or service name that would share its cache key with another service is refused before anything is sent', async () => {
    const { naming, sent, start } = setup();
    await start();
    const invalid = (error: unknown) => error instanceof InvalidParamError && error.code === 'CLIENT_INVALID_PARAM';
    await assert.rejects(naming.registerInstance('c', { ip: '10.0.0.5', port: 80 }, { groupName: 'a@@b' }), invalid);
    await assert.rejects(naming.subscribe('b@@c', () => {}, { groupName: 'a' }), invalid);
    await assert.rejects(naming.getAllInstances('@b', { groupName: 'a' }), invalid);
    assert.deepEqual(sent, []);
  });

  it('a push is acknowledged and kept; a push that changes nothing calls no listener', async () => {
    const { net, naming, start, timers } = setup();
    await start();
    const calls: number[] = [];
    await naming.subscribe('orders', (event) => calls.push(event.instances.length));
    pushOrders(net.connections[0]!, 2);
    pushOrders(net.connections[0]!, 3);
    await timers.advance(0);
    assert.deepEqual(calls, [0, 1]);
    const acks = net.connections[0]!.sent.filter((m) => m.type === 'NotifySubscriberResponse').map((m) => m.requestId);
    assert.deepEqual(acks, ['2', '3']);
    assert.deepEqual((await naming.getAllInstances('orders')).map((i) => i.ip), ['10.0.0.5'], 'read from the cache');
  });

  it('after a reconnect the new server\'s data is taken even if its clock is behind the old one\'s', async () => {
    const { net, naming, start, until, timers } = setup();
    await start();
    const calls: number[] = [];
    await naming.subscribe('orders', (event) => calls.push(event.instances.length));
    pushOrders(net.connections[0]!, 100);
    await timers.advance(0);
    assert.deepEqual(calls, [0, 1]);
    // B's subscribe answer (no hosts) carries lastRefTime 1, far behind A's 100.
    net.connections[0]!.endStream();
    await until(() => calls.length === 3, 'the redone subscription\'s answer taken');
    assert.deepEqual(calls, [0, 1, 0]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePayload,
  ErrorCode,
  MessageRegistry,
  NacosRemoteError,
  request,
  response,
  type RequestMessage,
  type ResponseMessage,
} from '../../../src/protocol/index.js';
import { UnaryAcceptor } from '../../../src/server/acceptors/unary-acceptor.js';
import { connectionLayerHandlers, type RequestMeta } from '../../../src/server/handlers/index.js';
import { loaderMetrics } from '../../../src/server/handlers/server-loader-info.js';
import { clientPayload, fakeConnection, FakeTransport, newManager, rawPayload } from '../../support/fakes.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { testLogger } from '../../support/server.js';

const MALFORMED_PROTOBUF = Uint8Array.from([0x12, 0xff, 0xff, 0xff, 0x0f]);

/** An acceptor over a real ConnectionManager and the real connection-layer handlers; no sockets. */
function harness(options: { started?: boolean } = {}) {
  const timers = new ManualTimers();
  const manager = newManager(timers);
  const registry = MessageRegistry.connectionLayer();
  const handlers = connectionLayerHandlers(manager, () => loaderMetrics(manager, () => 0.25));
  const state = { started: options.started ?? true };
  const replies: { type: string; errorCode: number }[] = [];
  const acceptor = new UnaryAcceptor({
    isStarted: () => state.started,
    manager,
    handlers,
    registry,
    logger: testLogger,
    onReply: (type, reply) => replies.push({ type, errorCode: reply.errorCode }),
  });

  /** Sends bytes on `transport` and decodes the reply. */
  async function call(bytes: Uint8Array, transport: FakeTransport): Promise<ResponseMessage> {
    const reply = decodePayload(await acceptor.handle(bytes, transport), registry);
    assert.equal(reply.kind, 'response', 'a unary reply is always a response');
    return reply as ResponseMessage;
  }

  /** A connection set up and registered on its own fake transport. */
  function registered(clientIp = '10.0.0.5') {
    const fake = fakeConnection({ timers, registry, clientIp, labels: { source: 'sdk', AppName: 'demo' } });
    assert.deepEqual(manager.register(fake.connection), { ok: true });
    return fake;
  }

  /** Replaces a handler with one that counts calls and records its arguments. */
  function spyHandler(type: string, answer: () => ResponseMessage | Promise<ResponseMessage> = () => response('HealthCheckResponse')) {
    const calls: { request: RequestMessage; meta: RequestMeta }[] = [];
    handlers.register(type, (req, meta) => {
      calls.push({ request: req, meta });
      return answer();
    });
    return calls;
  }

  return { timers, manager, registry, handlers, state, replies, acceptor, call, registered, spyHandler };
}

function assertError(reply: ResponseMessage, errorCode: number, message?: string | RegExp): void {
  assert.equal(reply.type, 'ErrorResponse', `expected ErrorResponse ${errorCode}, got ${JSON.stringify(reply)}`);
  assert.equal(reply.resultCode, 500);
  assert.equal(reply.errorCode, errorCode);
  if (typeof message === 'string') assert.equal(reply.message, message);
  else if (message instanceof RegExp) assert.match(reply.message ?? '', message);
}

describe('UnaryAcceptor: step 2, not started → 300', () => {
  it('answers 300 to ServerCheck before the server has started', async () => {
    const h = harness({ started: false });
    const reply = await h.call(clientPayload(request('ServerCheckRequest')), new FakeTransport());
    assertError(reply, ErrorCode.INVALID_SERVER_STATUS, 'Server is starting,please try later.');
  });

  it('answers 300 to a registered connection with a working handler, and the handler is not called', async () => {
    const h = harness({ started: false });
    const { transport } = h.registered();
    const calls = h.spyHandler('HealthCheckRequest');
    assertError(await h.call(clientPayload(request('HealthCheckRequest')), transport), 300);
    assert.equal(calls.length, 0);
  });

  it('answers 300 even to an unknown type or a broken body (checked before both)', async () => {
    const h = harness({ started: false });
    assertError(await h.call(rawPayload('NoSuchRequest', '{}'), new FakeTransport()), 300);
    assertError(await h.call(rawPayload('HealthCheckRequest', '{"headers":'), new FakeTransport()), 300);
  });

  it('serves normally once started', async () => {
    const h = harness({ started: false });
    const transport = new FakeTransport();
    assertError(await h.call(clientPayload(request('ServerCheckRequest')), transport), 300);
    h.state.started = true;
    const reply = await h.call(clientPayload(request('ServerCheckRequest')), transport);
    assert.equal(reply.type, 'ServerCheckResponse');
  });
});

describe('UnaryAcceptor: step 3, ServerCheck', () => {
  it('answers ServerCheckResponse with the transport id, without registration', async () => {
    const h = harness();
    const transport = new FakeTransport('10.1.2.3', 53122);
    const reply = await h.call(clientPayload(request('ServerCheckRequest')), transport);
    assert.equal(reply.type, 'ServerCheckResponse');
    assert.equal(reply.resultCode, 200);
    assert.deepEqual(reply.body, { connectionId: '1700000000000_10.1.2.3_53122' });
    assert.equal(h.manager.count, 0, 'ServerCheck registers nothing');
  });

  it('does not parse the body of a ServerCheck', async () => {
    const h = harness();
    const transport = new FakeTransport();
    const reply = await h.call(rawPayload('ServerCheckRequest', 'this is not JSON'), transport);
    assert.equal(reply.type, 'ServerCheckResponse');
    assert.equal(reply.body['connectionId'], transport.id);
  });

  it('answers ServerCheck on a registered connection with that connection id', async () => {
    const h = harness();
    const { transport, connection } = h.registered();
    const reply = await h.call(clientPayload(request('ServerCheckRequest')), transport);
    assert.equal(reply.body['connectionId'], connection.id);
  });
});

describe('UnaryAcceptor: step 4, no handler → 302 (before the connection check and parsing)', () => {
  it('answers 302 to an unknown type on an unregistered connection', async () => {
    const h = harness();
    const reply = await h.call(rawPayload('NoSuchRequest', '{"headers":{}}'), new FakeTransport());
    assertError(reply, ErrorCode.NO_HANDLER, 'RequestHandler Not Found');
  });

  it('answers 302 to an unknown type on a registered connection', async () => {
    const h = harness();
    const { transport } = h.registered();
    assertError(await h.call(rawPayload('NoSuchRequest', '{}'), transport), 302, 'RequestHandler Not Found');
  });

  it('answers 302 to an unknown type with a broken body (302, not 502)', async () => {
    const h = harness();
    assertError(await h.call(rawPayload('NoSuchRequest', '{"headers":'), new FakeTransport()), 302);
  });

  it('answers 302 to a unary ConnectionSetupRequest (setup only counts on the stream)', async () => {
    const h = harness();
    const setup = request('ConnectionSetupRequest', { clientVersion: 'Nacos-Java-Client:v2.2.4', labels: { source: 'sdk' } });
    const transport = new FakeTransport();
    assertError(await h.call(clientPayload(setup), transport), 302, 'RequestHandler Not Found');
    assert.equal(h.manager.checkValid(transport.id), false, 'a unary setup registers nothing');
    const { transport: registeredTransport } = h.registered();
    assertError(await h.call(clientPayload(setup), registeredTransport), 302);
  });

  it('answers 302 to an empty type', async () => {
    const h = harness();
    assertError(await h.call(rawPayload('', '{}'), new FakeTransport()), 302);
  });
});

describe('UnaryAcceptor: step 5, unregistered connection → 301', () => {
  it('answers 301 to a HealthCheck before setup', async () => {
    const h = harness();
    const reply = await h.call(clientPayload(request('HealthCheckRequest')), new FakeTransport());
    assertError(reply, ErrorCode.UN_REGISTER, 'Connection is unregistered.');
  });

  it('answers 301 before parsing: a broken body on an unregistered connection is 301, not 502', async () => {
    const h = harness();
    assertError(await h.call(rawPayload('HealthCheckRequest', '{"headers":'), new FakeTransport()), 301);
  });

  it('checks the connection of this transport, not any registered one', async () => {
    const h = harness();
    h.registered('10.0.0.1');
    const other = new FakeTransport('10.0.0.1');
    assertError(await h.call(clientPayload(request('HealthCheckRequest'), '10.0.0.1'), other), 301);
  });

  it('answers 301 once the connection has been unregistered, and does not call the handler', async () => {
    const h = harness();
    const { transport, connection } = h.registered();
    const calls = h.spyHandler('HealthCheckRequest');
    assert.equal((await h.call(clientPayload(request('HealthCheckRequest')), transport)).resultCode, 200);
    h.manager.unregister(connection.id, 'stream ended by client');
    assertError(await h.call(clientPayload(request('HealthCheckRequest')), transport), 301);
    assert.equal(calls.length, 1);
  });
});

describe('UnaryAcceptor: step 6, unparseable payload → 502', () => {
  it('answers 502 with the parser message to broken JSON, without calling the handler', async () => {
    const h = harness();
    const { transport } = h.registered();
    const calls = h.spyHandler('HealthCheckRequest');
    const reply = await h.call(rawPayload('HealthCheckRequest', '{"headers":'), transport);
    assertError(reply, ErrorCode.BAD_GATEWAY, /invalid JSON body/);
    assert.equal(calls.length, 0);
  });

  it('answers 502 to a field of the wrong shape, naming the field', async () => {
    const h = harness();
    const { transport } = h.registered();
    const reply = await h.call(rawPayload('ServerReloadRequest', '{"headers":{},"reloadCount":"many"}'), transport);
    assertError(reply, 502, /reloadCount/);
  });

  it('answers 502 "Invalid request" to a JSON body that is not an object', async () => {
    const h = harness();
    const { transport } = h.registered();
    assertError(await h.call(rawPayload('HealthCheckRequest', '[1,2]'), transport), 502, 'Invalid request');
    assertError(await h.call(rawPayload('HealthCheckRequest', 'null'), transport), 502, 'Invalid request');
  });

  it('answers 502 "Invalid request" to a response type sent as a request, without calling its handler', async () => {
    const h = harness();
    const { transport } = h.registered();
    // A handler keyed by a response type name gets past step 4; the payload is still no Request.
    const calls = h.spyHandler('HealthCheckResponse');
    const reply = await h.call(rawPayload('HealthCheckResponse', '{"resultCode":200,"errorCode":0,"success":true}'), transport);
    assertError(reply, ErrorCode.BAD_GATEWAY, 'Invalid request');
    assert.equal(calls.length, 0);
  });

  it('answers 502 to malformed protobuf bytes, registered or not, started or not', async () => {
    const h = harness();
    const { transport } = h.registered();
    assertError(await h.call(MALFORMED_PROTOBUF, transport), ErrorCode.BAD_GATEWAY, /malformed Payload protobuf/);
    assertError(await h.call(MALFORMED_PROTOBUF, new FakeTransport()), 502);
    h.state.started = false;
    assertError(await h.call(MALFORMED_PROTOBUF, transport), 502);
  });
});

describe('UnaryAcceptor: steps 7-8, the handler', () => {
  it('answers a HealthCheck from a registered connection with HealthCheckResponse', async () => {
    const h = harness();
    const { transport } = h.registered();
    const reply = await h.call(clientPayload(request('HealthCheckRequest')), transport);
    assert.deepEqual(reply, { kind: 'response', type: 'HealthCheckResponse', resultCode: 200, errorCode: 0, body: {} });
  });

  it('encodes a constant reply once, and a frozen reply that is not one (its body may change) on every call', async () => {
    const h = harness();
    const { transport } = h.registered();
    const health = clientPayload(request('HealthCheckRequest'));
    assert.equal(await h.acceptor.handle(health, transport), await h.acceptor.handle(health, transport), 'the same bytes: HealthCheck answers a constant');
    // Object.freeze is shallow: a frozen reply around a live body is no constant.
    const live: Record<string, string> = { conCount: '1' };
    const frozen = Object.freeze(response('ServerLoaderInfoResponse', { loaderMetrics: live }));
    h.spyHandler('ServerLoaderInfoRequest', () => frozen);
    const ask = async () => ((await h.call(clientPayload(request('ServerLoaderInfoRequest')), transport)).body['loaderMetrics'] as Record<string, string>)['conCount'];
    assert.equal(await ask(), '1');
    live['conCount'] = '2';
    assert.equal(await ask(), '2', 'encoded anew: not the first call\'s bytes');
  });

  it("answers with the handler's own response type and body (ServerLoaderInfo)", async () => {
    const h = harness();
    const { transport } = h.registered();
    h.registered('10.0.0.6');
    const reply = await h.call(clientPayload(request('ServerLoaderInfoRequest')), transport);
    assert.equal(reply.type, 'ServerLoaderInfoResponse');
    const metrics = reply.body['loaderMetrics'] as Record<string, string>;
    assert.equal(metrics['conCount'], '2');
    assert.equal(metrics['sdkConCount'], '2');
    assert.equal(metrics['cpu'], '0.25');
  });

  it('gives the handler the registered meta: setup-reported clientIp, version, labels and the connection', async () => {
    const h = harness();
    const { transport, connection } = h.registered('10.9.9.9');
    const calls = h.spyHandler('HealthCheckRequest');
    const req = { ...request('HealthCheckRequest'), headers: { accessToken: 't0k' } };
    await h.call(clientPayload(req, '192.168.7.7'), transport);
    assert.equal(calls.length, 1);
    const { meta, request: seen } = calls[0]!;
    assert.equal(meta.connectionId, transport.id);
    assert.equal(meta.clientIp, '10.9.9.9', 'the IP reported at setup, not this call’s metadata');
    assert.equal(meta.clientVersion, 'Nacos-Test-Client:v1');
    assert.deepEqual(meta.labels, { source: 'sdk', AppName: 'demo' });
    assert.equal(meta.connection, connection);
    assert.equal(seen.type, 'HealthCheckRequest');
    assert.deepEqual(seen.headers, { accessToken: 't0k' });
  });

  it('answers 500 with the message when the handler throws a plain Error', async () => {
    const h = harness();
    const { transport } = h.registered();
    h.spyHandler('HealthCheckRequest', () => {
      throw new Error('disk on fire');
    });
    assertError(await h.call(clientPayload(request('HealthCheckRequest')), transport), ErrorCode.SERVER_ERROR, 'disk on fire');
  });

  it('answers 500 when an async handler rejects with something that is not an Error', async () => {
    const h = harness();
    const { transport } = h.registered();
    h.spyHandler('HealthCheckRequest', () => Promise.reject('plain string'));
    assertError(await h.call(clientPayload(request('HealthCheckRequest')), transport), 500, 'plain string');
  });

  it('keeps the code of a thrown NacosRemoteError', async () => {
    const h = harness();
    const { transport } = h.registered();
    h.spyHandler('HealthCheckRequest', () => {
      throw new NacosRemoteError('OVER_THRESHOLD', ErrorCode.OVER_THRESHOLD, 'tps over threshold');
    });
    assertError(await h.call(clientPayload(request('HealthCheckRequest')), transport), 503, 'tps over threshold');
    h.spyHandler('HealthCheckRequest', async () => {
      throw new NacosRemoteError('CUSTOM', 410, 'gone away');
    });
    assertError(await h.call(clientPayload(request('HealthCheckRequest')), transport), 410, 'gone away');
  });

  it('refreshes the active time of the connection on a handled request', async () => {
    const h = harness();
    const { transport, connection } = h.registered();
    const createdAt = connection.lastActiveTime;
    await h.timers.advance(7000);
    await h.call(clientPayload(request('HealthCheckRequest')), transport);
    assert.equal(connection.lastActiveTime, createdAt + 7000);
  });

  it('refreshes the active time even when the handler then fails', async () => {
    const h = harness();
    const { transport, connection } = h.registered();
    h.spyHandler('HealthCheckRequest', () => {
      throw new Error('boom');
    });
    await h.timers.advance(1234);
    await h.call(clientPayload(request('HealthCheckRequest')), transport);
    assert.equal(connection.lastActiveTime, h.timers.now());
  });

  it('does not refresh the active time on refused calls (302, 502, ServerCheck)', async () => {
    const h = harness();
    const { transport, connection } = h.registered();
    const createdAt = connection.lastActiveTime;
    await h.timers.advance(5000);
    await h.call(rawPayload('NoSuchRequest', '{}'), transport);
    await h.call(rawPayload('HealthCheckRequest', '{"headers":'), transport);
    await h.call(clientPayload(request('ServerCheckRequest')), transport);
    assert.equal(connection.lastActiveTime, createdAt);
  });

  it('answers at once, without a promise, when the handler answers at once; a promise when it answers later', async () => {
    const h = harness();
    const { transport } = h.registered();
    const acceptor = new UnaryAcceptor({ isStarted: () => true, manager: h.manager, handlers: h.handlers, registry: h.registry, logger: testLogger });
    for (const type of ['ServerCheckRequest', 'HealthCheckRequest', 'NoSuchRequest']) {
      const reply = acceptor.handle(clientPayload(request(type)), transport);
      assert.ok(reply instanceof Uint8Array, `${type} answered at once`);
    }
    assert.ok(acceptor.handle(MALFORMED_PROTOBUF, transport) instanceof Uint8Array, 'malformed bytes answered at once');
    h.spyHandler('HealthCheckRequest', async () => response('HealthCheckResponse'));
    const later = acceptor.handle(clientPayload(request('HealthCheckRequest')), transport);
    assert.ok(later instanceof Promise, 'an async handler is awaited');
    assert.equal(decodePayload(await later, h.registry).type, 'HealthCheckResponse');
  });

  it("encodes a frozen reply once and shares its bytes; other replies are encoded per call", async () => {
    const h = harness();
    const { transport } = h.registered();
    const acceptor = new UnaryAcceptor({ isStarted: () => true, manager: h.manager, handlers: h.handlers, registry: h.registry, logger: testLogger });
    const twice = (type: string, on = transport) => [acceptor.handle(clientPayload(request(type)), on), acceptor.handle(clientPayload(request(type)), on)];
    const [health1, health2] = twice('HealthCheckRequest');
    assert.equal(health1, health2, 'HealthCheckResponse (a frozen constant) encoded once');
    assert.equal(decodePayload(health1 as Uint8Array, h.registry).type, 'HealthCheckResponse');
    const [unregistered1, unregistered2] = twice('HealthCheckRequest', new FakeTransport());
    assert.equal(unregistered1, unregistered2, 'the 301 refusal encoded once');
    const [check1, check2] = twice('ServerCheckRequest');
    assert.notEqual(check1, check2, 'a reply built per call is encoded per call');
  });

  it('reports every reply exactly once to onReply, with the request type', async () => {
    const h = harness();
    const { transport } = h.registered();
    await h.call(clientPayload(request('HealthCheckRequest')), transport);
    await h.call(rawPayload('NoSuchRequest', '{}'), transport);
    await h.call(MALFORMED_PROTOBUF, transport);
    assert.deepEqual(h.replies, [
      { type: 'HealthCheckRequest', errorCode: 0 },
      { type: 'NoSuchRequest', errorCode: 302 },
      { type: '', errorCode: 502 },
    ]);
  });
});

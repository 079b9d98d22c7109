import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeEnvelope,
  decodePayload,
  encodePayload,
  errorResponse,
  InvalidBodyError,
  MalformedPayloadError,
  MessageRegistry,
  PayloadTypeForTests,
  request,
  response,
  UnknownPayloadTypeError,
  type Message,
} from './codec-support.js';

function rawPayload(type: string, json: string, extra: { clientIp?: string; headers?: Record<string, string> } = {}) {
  return PayloadTypeForTests.encode({
    metadata: { type, ...extra },
    body: { type_url: '', value: Buffer.from(json, 'utf8') },
  }).finish();
}

function jsonOf(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(decodeEnvelope(bytes).body).toString('utf8')) as Record<string, unknown>;
}

describe('payload codec: golden bodies from spec section 2', () => {
  it('decodes the Java ServerCheckRequest', () => {
    const msg = decodePayload(rawPayload('ServerCheckRequest', '{"headers":{},"module":"internal"}'));
    assert.deepEqual(msg, { kind: 'request', type: 'ServerCheckRequest', headers: {}, body: {} });
  });

  it('encodes ServerCheckResponse with connectionId and success', () => {
    const bytes = encodePayload(response('ServerCheckResponse', { connectionId: '1687241733123_10.0.0.5_53122' }));
    assert.deepEqual(jsonOf(bytes), {
      resultCode: 200,
      errorCode: 0,
      connectionId: '1687241733123_10.0.0.5_53122',
      success: true,
    });
    const env = decodeEnvelope(bytes);
    assert.equal(env.type, 'ServerCheckResponse');
    assert.equal(env.clientIp, '');
  });

  it('decodes the Java config ConnectionSetupRequest', () => {
    const json =
      '{"headers":{},"clientVersion":"Nacos-Java-Client:v2.2.4","abilities":{"remoteAbility":{"supportRemoteConnection":true},' +
      '"configAbility":{"supportRemoteMetrics":true},"namingAbility":{"supportDeltaPush":false,"supportRemoteMetric":false}},' +
      '"tenant":"","labels":{"source":"sdk","module":"config","AppName":"unknown","taskId":"0","tls.enable":"false"},"module":"internal"}';
    const msg = decodePayload(rawPayload('ConnectionSetupRequest', json, { clientIp: '10.0.0.5' }));
    assert.equal(msg.kind, 'request');
    assert.deepEqual(msg.body, {
      clientVersion: 'Nacos-Java-Client:v2.2.4',
      labels: { source: 'sdk', module: 'config', AppName: 'unknown', taskId: '0', 'tls.enable': 'false' },
      tenant: '',
      abilities: {
        remoteAbility: { supportRemoteConnection: true },
        configAbility: { supportRemoteMetrics: true },
        namingAbility: { supportDeltaPush: false, supportRemoteMetric: false },
      },
    });
  });

  it('accepts the Go setup extras (requestId "", clientAbilities) and ignores unknown keys', () => {
    const json =
      '{"headers":{},"requestId":"","clientVersion":"Nacos-Go-Client:v2.2.7","labels":{"source":"sdk"},"clientAbilities":{},"module":"internal"}';
    const msg = decodePayload(rawPayload('ConnectionSetupRequest', json));
    assert.deepEqual(msg.body, { clientVersion: 'Nacos-Go-Client:v2.2.7', labels: { source: 'sdk' } });
  });

  it('encodes ConnectResetRequest as Java does, serverPort a string', () => {
    const push = { ...request('ConnectResetRequest', { serverIp: '10.0.0.7', serverPort: '8848' }), requestId: '42' };
    assert.deepEqual(jsonOf(encodePayload(push)), {
      headers: {},
      requestId: '42',
      serverIp: '10.0.0.7',
      serverPort: '8848',
      module: 'internal',
    });
  });

  it('encodes ErrorResponse 301 as Java does', () => {
    assert.deepEqual(jsonOf(encodePayload(errorResponse(301, 'Connection is unregistered.'))), {
      resultCode: 500,
      errorCode: 301,
      message: 'Connection is unregistered.',
      success: false,
    });
  });

  it('never trusts success on read: Go answers resultCode 200 with success false', () => {
    const msg = decodePayload(rawPayload('ConnectResetResponse', '{"resultCode":200,"success":false,"requestId":"7"}'));
    assert.deepEqual(msg, {
      kind: 'response',
      type: 'ConnectResetResponse',
      resultCode: 200,
      errorCode: 0,
      requestId: '7',
      body: {},
    });
  });

  it('moves request headers to metadata and writes headers {} in the body', () => {
    const req = { ...request('HealthCheckRequest'), headers: { accessToken: 'abc' } };
    const bytes = encodePayload(req, { clientIp: '10.1.1.1' });
    const env = decodeEnvelope(bytes);
    assert.deepEqual(env.headers, { accessToken: 'abc' });
    assert.equal(env.clientIp, '10.1.1.1');
    assert.deepEqual(jsonOf(bytes), { headers: {}, module: 'internal' });
  });

  it('drops null keys and leaves type_url empty', () => {
    const bytes = encodePayload(request('ConnectResetRequest', { serverIp: null as unknown as string }));
    assert.deepEqual(jsonOf(bytes), { headers: {}, module: 'internal' });
    const proto = PayloadTypeForTests.decode(bytes) as unknown as { body: { type_url: string } };
    assert.equal(proto.body.type_url, '');
  });

  it('drops null keys at any depth, and keeps the JSON as is when there is none', () => {
    const nested = { instance: { ip: '10.0.0.1', weight: null, meta: { a: null, b: 'x' } }, hosts: [{ port: 1, cluster: null }] };
    const business = (body: Record<string, unknown>): Message => ({ kind: 'request', type: 'InstanceRequest', headers: {}, body });
    assert.deepEqual(jsonOf(encodePayload(business(nested))), {
      headers: {},
      instance: { ip: '10.0.0.1', meta: { b: 'x' } },
      hosts: [{ port: 1 }],
      module: 'internal',
    });
    const custom = { toJSON: () => ({ x: null, y: 1 }) };
    assert.deepEqual(jsonOf(encodePayload(business({ custom }))), { headers: {}, custom: { y: 1 }, module: 'internal' }, 'what toJSON returns loses its nulls too');
    const clean = { instance: { ip: '10.0.0.1', meta: { b: 'x' } }, list: [1, 'a', true] };
    assert.deepEqual(jsonOf(encodePayload(business(clean))), { headers: {}, ...clean, module: 'internal' });
  });
});

describe('payload codec: bad input gets typed errors', () => {
  it('malformed protobuf', () => {
    assert.throws(() => decodeEnvelope(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f])), MalformedPayloadError);
  });
  it('a string whose length runs past the end of the Payload, as Java refuses it (protobufjs read "Healt")', () => {
    const truncated = Buffer.from([0x12, 7, 0x1a, 20, ...Buffer.from('Healt')]);
    assert.throws(() => decodeEnvelope(truncated), MalformedPayloadError);
  });
  it('unknown type (500, "Unknown payload type:")', () => {
    assert.throws(
      () => decodePayload(rawPayload('NoSuchRequest', '{}')),
      (e: unknown) => e instanceof UnknownPayloadTypeError && e.errorCode === 500 && e.message === 'Unknown payload type:NoSuchRequest',
    );
  });
  it('broken JSON and non-object JSON (502)', () => {
    assert.throws(() => decodePayload(rawPayload('HealthCheckRequest', '{"headers":')), InvalidBodyError);
    assert.throws(() => decodePayload(rawPayload('HealthCheckRequest', '[1,2]')), InvalidBodyError);
    assert.throws(() => decodePayload(rawPayload('HealthCheckRequest', 'null')), InvalidBodyError);
  });
  it('a field of the wrong shape (502)', () => {
    assert.throws(
      () => decodePayload(rawPayload('ConnectionSetupRequest', '{"labels":[1]}')),
      (e: unknown) => e instanceof InvalidBodyError && e.errorCode === 502,
    );
  });
});

describe('payload codec: properties', () => {
  const str = fc.string({ maxLength: 20 });
  const strMap = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), str, { maxKeys: 6 }).map((d) => ({ ...d }));
  const requestId = fc.option(fc.stringMatching(/^[0-9]{1,12}$/), { nil: undefined });
  // JSON without nulls: the codec drops null keys by design (Jackson NON_NULL).
  const { jsonValue } = fc.letrec<{ jsonValue: unknown }>((tie) => ({
    jsonValue: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.string({ maxLength: 8 }),
      fc.integer(),
      fc.boolean(),
      fc.array(tie('jsonValue'), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('jsonValue'), { maxKeys: 3 }).map((d) => ({ ...d })),
    ),
  }));
  const registry = MessageRegistry.connectionLayer().defineRequest('ConfigQueryRequest', { module: 'config' });

  function withId<T extends Message>(msg: T, id: string | undefined): T {
    return id === undefined ? msg : { ...msg, requestId: id };
  }

  it('decode(encode(setup)) equals the setup for arbitrary headers, labels, tenant', () => {
    fc.assert(
      fc.property(strMap, strMap, str, fc.option(str, { nil: undefined }), requestId, (headers, labels, version, tenant, id) => {
        const body = tenant === undefined ? { clientVersion: version, labels } : { clientVersion: version, labels, tenant };
        const msg = withId({ ...request('ConnectionSetupRequest', body), headers }, id);
        assert.deepEqual(decodePayload(encodePayload(msg)), msg);
      }),
    );
  });

  it('decode(encode(x)) equals x for arbitrary business bodies and headers', () => {
    const body = fc
      .dictionary(fc.string({ minLength: 1, maxLength: 10 }), jsonValue, { maxKeys: 6 })
      .map((d) => Object.fromEntries(Object.entries(d).filter(([k]) => !['headers', 'requestId', 'module'].includes(k))));
    fc.assert(
      fc.property(strMap, body, requestId, (headers, fields, id) => {
        const msg = withId<Message>({ kind: 'request', type: 'ConfigQueryRequest', headers, body: fields }, id);
        assert.deepEqual(decodePayload(encodePayload(msg, { registry }), registry), msg);
      }),
    );
  });

  it('decode(encode(x)) equals x for responses with arbitrary codes, messages and metrics', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer(), fc.option(str, { nil: undefined }), strMap, requestId, (rc, ec, text, metrics, id) => {
        const base = { ...response('ServerLoaderInfoResponse', { loaderMetrics: metrics }), resultCode: rc, errorCode: ec };
        const msg = withId(text === undefined ? base : { ...base, message: text }, id);
        const bytes = encodePayload(msg);
        assert.deepEqual(decodePayload(bytes), msg);
        assert.equal(jsonOf(bytes)['success'], rc === 200);
      }),
    );
  });
});

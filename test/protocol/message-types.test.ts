import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeEnvelope,
  decodePayload,
  defineRequestType,
  defineResponseType,
  encodePayload,
  InvalidBodyError,
  MessageRegistry,
  request,
  response,
  type JsonObject,
} from './codec-support.js';

const ConfigQueryRequest = defineRequestType('ConfigQueryRequest', { module: 'config' });
const ConfigQueryResponse = defineResponseType('ConfigQueryResponse', {
  parseBody: (json: JsonObject) => {
    if (typeof json['content'] !== 'string') throw new InvalidBodyError("field 'content' must be a string");
    return { content: json['content'] };
  },
});

function jsonOf(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(decodeEnvelope(bytes).body).toString('utf8')) as Record<string, unknown>;
}

describe('business message types', () => {
  const registry = MessageRegistry.connectionLayer().register(ConfigQueryRequest, ConfigQueryResponse);

  it('response() builds a business response that encodes under its own type name', () => {
    const bytes = encodePayload({ ...response('ConfigQueryResponse', { content: 'x=1', extra: 2 }), requestId: '3' }, { registry });
    assert.equal(decodeEnvelope(bytes).type, 'ConfigQueryResponse');
    assert.deepEqual(jsonOf(bytes), { resultCode: 200, errorCode: 0, requestId: '3', content: 'x=1', extra: 2, success: true });
  });

  it('request() builds a business request whose module comes from its definition', () => {
    const bytes = encodePayload(request('ConfigQueryRequest', { dataId: 'd' }), { registry });
    assert.deepEqual(jsonOf(bytes), { headers: {}, dataId: 'd', module: 'config' });
  });

  it("a definition's parser builds the decoded body, and is() narrows to it", () => {
    const decoded = decodePayload(encodePayload(response('ConfigQueryResponse', { content: 'x=1', extra: 2 })), registry);
    assert.ok(ConfigQueryResponse.is(decoded));
    assert.equal(decoded.body.content, 'x=1');
    assert.deepEqual(decoded.body, { content: 'x=1' }, 'only what the parser kept');
    assert.equal(ConfigQueryRequest.is(decoded), false);
  });

  it('a parser that refuses a body makes the message undecodable', () => {
    assert.throws(() => decodePayload(encodePayload(response('ConfigQueryResponse', { content: 5 })), registry), InvalidBodyError);
  });

  it('without a parser every non-base, non-null field is kept', () => {
    const decoded = decodePayload(encodePayload({ ...request('ConfigQueryRequest', { dataId: 'd', tag: null }), requestId: '9' }, { registry }), registry);
    assert.deepEqual(decoded, { kind: 'request', type: 'ConfigQueryRequest', headers: {}, requestId: '9', body: { dataId: 'd' } });
  });

  it('register() refuses a name taken by the other kind and registers none of that batch', () => {
    const target = MessageRegistry.connectionLayer();
    assert.throws(() => target.register(ConfigQueryResponse, defineResponseType('HealthCheckRequest')), /already registered as a request/);
    assert.equal(target.has('ConfigQueryResponse'), false);
    target.register(ConfigQueryResponse, ConfigQueryResponse);
    assert.equal(target.get('ConfigQueryResponse').kind, 'response', 'registering the same kind again is harmless');
  });
});

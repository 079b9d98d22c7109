import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigMessages } from '../../../src/protocol/config/index.js';
import { decodePayload, encodePayload, InvalidBodyError, MessageRegistry, messageToJson, type MessageTypeDefinition } from '../../../src/protocol/index.js';

function registry(): MessageRegistry {
  const r = MessageRegistry.connectionLayer();
  r.register(...(Object.values(ConfigMessages) as MessageTypeDefinition[]));
  return r;
}

function decodeResponse(type: string, json: Record<string, unknown>) {
  const r = registry();
  return decodePayload(encodePayload({ kind: 'response', type, resultCode: 200, errorCode: 0, body: json }, { registry: r }), r);
}

describe('config messages (client side)', () => {
  it('a query answer is read with Java client defaults: contentType text when blank, lastModified 0 when absent', () => {
    const reply = decodeResponse('ConfigQueryResponse', { content: 'a=1', md5: 'x', contentType: '' });
    assert.deepEqual(reply.body, { content: 'a=1', md5: 'x', lastModified: 0, contentType: 'text' });
  });

  it('a batch listen answer lists the changed keys, tenant public when left out', () => {
    const reply = decodeResponse('ConfigChangeBatchListenResponse', { changedConfigs: [{ dataId: 'd', group: 'g' }, { dataId: 'e', group: 'g', tenant: 'ns' }] });
    assert.deepEqual(reply.body, { changedConfigs: [{ dataId: 'd', group: 'g', tenant: '' }, { dataId: 'e', group: 'g', tenant: 'ns' }] });
  });

  it('a push without a dataId is refused with the field named', () => {
    const r = registry();
    const bytes = encodePayload({ kind: 'request', type: 'ConfigChangeNotifyRequest', headers: {}, body: { group: 'g' } }, { registry: r });
    assert.throws(() => decodePayload(bytes, r), (error: unknown) => error instanceof InvalidBodyError && /dataId/.test(error.message));
  });

  it("the client's requests go out with module 'config', as Java 2.2.4's AbstractConfigRequest", () => {
    const r = registry();
    for (const type of ['ConfigQueryRequest', 'ConfigPublishRequest', 'ConfigRemoveRequest', 'ConfigBatchListenRequest']) {
      assert.equal(messageToJson({ kind: 'request', type, headers: {}, body: { dataId: 'd', group: 'g' } }, r)['module'], 'config', type);
    }
  });

  it('a ConfigQueryRequest is read as the four fields a server handler reads, as they came, and nothing else', () => {
    const json = { headers: {}, requestId: '7', module: 'config', dataId: 5, group: 'G', tenant: null, tag: 'x', extra: { a: 1 } };
    assert.deepEqual(ConfigMessages.ConfigQueryRequest.parseBody(json), { dataId: 5, group: 'G', tenant: null, tag: 'x' });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClientStatus,
  InvalidResponseError,
  RpcClient,
  UnknownResponseTypeError,
  defineRequestType,
  defineResponseType,
  request,
  response,
} from '../../src/client/index.js';
import { InvalidBodyError, type JsonObject } from '../../src/protocol/index.js';
import { startTestNode } from '../support/node.js';
import { testLogger } from '../support/server.js';

/** A config-like reply as the future config SDK would read it: content always a string. */
const ConfigQueryResponse = defineResponseType('ConfigQueryResponse', {
  parseBody: (json: JsonObject) => {
    const content = json['content'];
    if (typeof content !== 'string') throw new InvalidBodyError("field 'content' must be a string");
    return { content, md5: typeof json['md5'] === 'string' ? json['md5'] : undefined };
  },
});

/** The server's reading of the request: the two fields it needs, nothing else. */
const ConfigQueryRequest = defineRequestType('ConfigQueryRequest', {
  module: 'config',
  parseBody: (json: JsonObject) => ({ dataId: String(json['dataId'] ?? ''), group: String(json['group'] ?? 'DEFAULT_GROUP') }),
});

describe('RpcClient carries business traffic from a real node', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let client: RpcClient;
  const calls = new Map<string, number>();
  const count = (type: string) => calls.set(type, (calls.get(type) ?? 0) + 1);

  before(async () => {
    node = await startTestNode();
    node.server.defineMessageTypes(ConfigQueryRequest);
    node.server.registerHandler('ConfigQueryRequest', (req) => {
      count(req.type);
      return response('ConfigQueryResponse', { content: `value of ${JSON.stringify(req.body)}`, md5: 'abc', extra: 1 });
    });
    node.server.registerHandler('MysteryRequest', (req) => {
      count(req.type);
      return response('MysteryResponse', { anything: true });
    });
    node.server.registerHandler('BrokenConfigRequest', (req) => {
      count(req.type);
      return response('ConfigQueryResponse', { content: 42 });
    });
    client = new RpcClient({ serverAddresses: [`127.0.0.1:${node.config.port}`], logger: testLogger, messageTypes: [ConfigQueryResponse] });
    await client.start();
  });
  after(async () => {
    await client?.shutdown();
    await node?.dispose();
  });

  it('a registered business response comes back with the body its parser built', async () => {
    const reply = await client.request(request('ConfigQueryRequest', { dataId: 'app.properties', group: 'g', tenant: 'ignored' }), {
      expect: ConfigQueryResponse,
    });
    assert.equal(reply.type, 'ConfigQueryResponse');
    // The handler saw the server-side parser's body; the client kept what its parser returned.
    assert.deepEqual(reply.body, { content: 'value of {"dataId":"app.properties","group":"g"}', md5: 'abc' });
    assert.equal(calls.get('ConfigQueryRequest'), 1);
  });

  it('a response type the client does not know: UnknownResponseTypeError, the handler ran once, the client stays on its connection', async () => {
    const connectionId = client.connectionId;
    await assert.rejects(client.request(request('MysteryRequest')), (error: unknown) => {
      assert.ok(error instanceof UnknownResponseTypeError, `got ${String(error)}`);
      assert.equal(error.code, 'UNKNOWN_RESPONSE_TYPE');
      assert.equal(error.responseType, 'MysteryResponse');
      return true;
    });
    assert.equal(calls.get('MysteryRequest'), 1, 'not sent again');
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal((await client.request(request('HealthCheckRequest'))).resultCode, 200);
    assert.equal(client.connectionId, connectionId, 'no switch');
  });

  it('a body its parser rejects: InvalidResponseError, the handler ran once, the client stays on its connection', async () => {
    const connectionId = client.connectionId;
    await assert.rejects(client.request(request('BrokenConfigRequest')), (error: unknown) => {
      assert.ok(error instanceof InvalidResponseError, `got ${String(error)}`);
      assert.equal(error.code, 'INVALID_RESPONSE');
      assert.ok(error.cause instanceof InvalidBodyError);
      return true;
    });
    assert.equal(calls.get('BrokenConfigRequest'), 1, 'not sent again');
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal((await client.request(request('HealthCheckRequest'))).resultCode, 200);
    assert.equal(client.connectionId, connectionId, 'no switch');
  });
});

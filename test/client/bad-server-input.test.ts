import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ClientStatus, RpcClient } from '../../src/client/index.js';
import {
  decodePayload,
  defineRequestType,
  encodePayload,
  GrpcPaths,
  InvalidBodyError,
  MessageRegistry,
  request,
  response,
  type Message,
} from '../../src/protocol/index.js';
import { PayloadType } from '../support/payload-proto.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

const identity = (b: Buffer): Buffer => b;
const method = (path: string, stream: boolean) => ({
  path,
  requestStream: stream,
  responseStream: stream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

const serverRegistry = MessageRegistry.connectionLayer().defineResponse('NotifySubscriberResponse');

describe('RpcClient: bad input from a server is logged and ignored', () => {
  const server = new grpc.Server();
  let client: RpcClient | undefined;
  after(async () => {
    await client?.shutdown();
    server.forceShutdown();
  });

  it('survives garbage, an unknown push type, broken JSON and a body its parser refuses, and still answers pushes', async () => {
    const port = await findMainPort(['127.0.0.1']);
    const answers: Message[] = [];
    let streamCall: grpc.ServerDuplexStream<Buffer, Buffer> | undefined;
    // A minimal hostile server: correct unary answers, junk on the stream.
    server.addService({ request: method(GrpcPaths.REQUEST, false) } as grpc.ServiceDefinition, {
      request: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const req = decodePayload(call.request);
        const reply = req.type === 'ServerCheckRequest' ? response('ServerCheckResponse', { connectionId: '1_127.0.0.1_1' }) : response('HealthCheckResponse');
        callback(null, Buffer.from(encodePayload(reply)));
      },
    });
    server.addService({ requestBiStream: method(GrpcPaths.BI_STREAM, true) } as grpc.ServiceDefinition, {
      requestBiStream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        streamCall = call;
        call.on('data', (bytes: Buffer) => {
          const message = decodePayload(bytes, serverRegistry);
          if (message.kind === 'response') answers.push(message);
        });
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port + 1000}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
    client = new RpcClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger });
    const handled: string[] = [];
    client.defineMessageTypes(
      defineRequestType('NotifySubscriberRequest', {
        parseBody: (json) => {
          if (typeof json['serviceName'] !== 'string') throw new InvalidBodyError("field 'serviceName' must be a string");
          return { serviceName: json['serviceName'] };
        },
      }),
    );
    client.onServerRequest('NotifySubscriberRequest', (push) => {
      handled.push(String(push.body['serviceName']));
      return response('NotifySubscriberResponse');
    });
    await client.start();
    await eventually(() => streamCall, 5000, 'stream opened');
    const raw = (type: string, json: string) => Buffer.from(PayloadType.encode({ metadata: { type }, body: { value: Buffer.from(json) } }).finish());
    streamCall!.write(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f]));
    streamCall!.write(raw('TotallyUnknownRequest', '{"requestId":"1"}'));
    streamCall!.write(raw('ClientDetectionRequest', '{"requestId":'));
    streamCall!.write(raw('NotifySubscriberRequest', '{"requestId":"2","serviceName":7}'));
    streamCall!.write(raw('NotifySubscriberRequest', '{"requestId":"3","serviceName":"orders"}'));
    streamCall!.write(Buffer.from(encodePayload({ ...request('ClientDetectionRequest'), requestId: '42' })));
    await eventually(() => answers.find((a) => a.type === 'ClientDetectionResponse'), 5000, 'detection answered');
    // Java logs and ignores what it cannot decode (spec 4.7): the server's wait times out, the stream lives.
    assert.deepEqual(
      answers.map((a) => [a.type, a.kind === 'response' && a.requestId]),
      [
        ['NotifySubscriberResponse', '3'],
        ['ClientDetectionResponse', '42'],
      ],
      'nothing answered for the junk',
    );
    assert.deepEqual(handled, ['orders']);
    assert.equal(client.status, ClientStatus.RUNNING);
  });
});

// Baseline: a bare grpc-js server with the two Nacos paths and no connection management. It
// answers /Request/request with the same fixed replies as the raw node:http2 responder and holds
// the bi-stream open, counting what arrives (a fan-out's answers). Server options as our node's (message sizes).
// Standalone: node --import tsx bench/baselines/grpcjs-bare.ts [--host H] [--port P]
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_MAX_MESSAGE_BYTES, GrpcPaths } from '../../src/protocol/index.js';
import { CloseLog, FanOut } from '../support/fan-out.js';
import { isEntryPoint, serveStandalone, type RunningServer } from '../support/standalone.js';
import { fixedReplies } from './fixed-replies.js';

const identity = (value: Buffer): Buffer => value;

/** Hand-written definitions with identity serializers, as src/server/transport/grpc-transport.ts has. */
function method(path: string, streaming: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export async function startGrpcJsBare(host: string, port: number): Promise<RunningServer> {
  const replies = fixedReplies();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': DEFAULT_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': DEFAULT_MAX_MESSAGE_BYTES,
  });
  server.addService({ request: method(GrpcPaths.REQUEST, false) }, {
    request: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      let reply: Buffer;
      try {
        reply = replies.replyTo(call.request);
      } catch {
        callback({ code: grpc.status.INTERNAL, details: 'malformed Payload' });
        return;
      }
      callback(null, reply);
    },
  });
  const biStreams = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  const fanOut = new FanOut<grpc.ServerDuplexStream<Buffer, Buffer>>();
  const closes = new CloseLog();
  server.addService({ requestBiStream: method(GrpcPaths.BI_STREAM, true) }, {
    requestBiStream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      biStreams.add(call);
      const peer = call.getPeer();
      let gone = false;
      // grpc-js tells of a client that went away by cancelling its calls.
      const onGone = () => {
        if (gone) return;
        gone = true;
        biStreams.delete(call);
        fanOut.ended(call);
        closes.record(peer);
      };
      call.on('data', () => fanOut.answered(call));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
      call.on('cancelled', onGone);
      call.on('close', onGone);
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    port: bound,
    close: async () => server.forceShutdown(),
    fanOut: (timeoutMs) => fanOut.run([...biStreams], (call) => call.write(replies.pushPayload), timeoutMs),
    takeCloses: () => closes.take(),
  };
}

if (isEntryPoint(import.meta.url)) await serveStandalone(startGrpcJsBare);

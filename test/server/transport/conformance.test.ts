/**
 * The same gRPC behaviour from both server transports (grpc-js and node:http2), seen from raw
 * node:http2 clients (to send what real clients would not) and from grpc-js clients; the main
 * suite runs over plaintext and again over TLS (TLS only, compatibility off).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { after, describe, it } from 'node:test';
import { RpcClient } from '../../../src/client/index.js';
import { decodePayload, encodePayload, GrpcPaths, request, response, type RequestMessage, type ResponseMessage } from '../../../src/protocol/index.js';
import { UnregisterReason } from '../../../src/server/connection-manager.js';
import type { TransportKind } from '../../../src/server/transport/types.js';
import { eventually, RawPeer } from '../../support/raw-peer.js';
import { startTestServer, testLogger } from '../../support/server.js';
import { createTestPki } from '../../support/tls-certificates.js';

const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_STREAMS = 4;

function frame(message: Uint8Array, flag = 0): Buffer {
  const framed = Buffer.alloc(5 + message.byteLength);
  framed[0] = flag;
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  return framed;
}

interface CallResult {
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string | undefined;
  readonly httpStatus: number | undefined;
  readonly messages: Buffer[];
  readonly rstCode: number | undefined;
}

/** A raw gRPC call: sends `body` (and END_STREAM unless `keepOpen`), collects the reply. */
function rawCall(
  session: http2.ClientHttp2Session,
  body: Buffer,
  options: { path?: string; headers?: http2.OutgoingHttpHeaders; keepOpen?: boolean } = {},
): { stream: http2.ClientHttp2Stream; result: Promise<CallResult> } {
  const stream = session.request({
    ':method': 'POST',
    ':path': options.path ?? GrpcPaths.REQUEST,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...options.headers,
  });
  stream.on('error', () => undefined);
  let headers: http2.IncomingHttpHeaders = {};
  let trailers: http2.IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  stream.on('response', (h) => (headers = h));
  stream.on('trailers', (t) => (trailers = t));
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  if (options.keepOpen) stream.write(body);
  else stream.end(body);
  const result = new Promise<CallResult>((resolve) => {
    stream.on('close', () => {
      const all = Buffer.concat(chunks);
      const messages: Buffer[] = [];
      for (let at = 0; at + 5 <= all.length; ) {
        const length = all.readUInt32BE(at + 1);
        messages.push(all.subarray(at + 5, at + 5 + length));
        at += 5 + length;
      }
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      const message = trailers['grpc-message'] ?? headers['grpc-message'];
      resolve({
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: message === undefined ? undefined : String(message),
        httpStatus: headers[':status'] === undefined ? undefined : Number(headers[':status']),
        messages,
        rstCode: stream.rstCode,
      });
    });
  });
  return { stream, result };
}

/** A call's gRPC status, from trailers or a trailers-only answer, whether or not the stream closes. */
function grpcStatusOf(stream: http2.ClientHttp2Stream): Promise<number> {
  return new Promise((resolve) => {
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) resolve(Number(headers['grpc-status']));
    });
    stream.on('trailers', (trailers) => resolve(Number(trailers['grpc-status'])));
  });
}

async function unaryReply(session: http2.ClientHttp2Session, message: RequestMessage = request('ServerCheckRequest')): Promise<ResponseMessage> {
  const { result } = rawCall(session, frame(encodePayload(message, { clientIp: '127.0.0.1' })));
  const { grpcStatus, messages } = await result;
  assert.equal(grpcStatus, 0);
  const reply = decodePayload(messages[0]!);
  assert.equal(reply.kind, 'response');
  return reply as ResponseMessage;
}

const pki = await createTestPki();
after(() => pki.cleanup());
const caPem = readFileSync(pki.ca.certFile);

for (const [transport, security] of [
  ['grpc-js', 'plaintext'],
  ['http2', 'plaintext'],
  ['grpc-js', 'tls'],
  ['http2', 'tls'],
] as const satisfies readonly (readonly [TransportKind, 'plaintext' | 'tls'])[]) {
  const overTls = security === 'tls';
  describe(`transport conformance: ${transport}${overTls ? ' over TLS' : ''}`, { timeout: 60_000 }, async () => {
    const { server, port, sdkPort, host } = await startTestServer({
      transport,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      maxOutboundBytes: 256 * 1024,
      maxConcurrentStreams: MAX_STREAMS,
      setupTimeoutMs: 5000,
      ...(overTls
        ? { tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, mutual: false, compatibility: false, reloadIntervalMs: 60_000 } }
        : {}),
    });
    const clientTls = overTls ? { tls: { caFile: pki.ca.certFile } } : {};
    // A handler that answers when the test says so (never by sleeping).
    let releaseSlow: () => void = () => undefined;
    let slowStarted: () => void = () => undefined;
    server.registerHandler('SlowRequest', async () => {
      slowStarted();
      await new Promise<void>((resolve) => (releaseSlow = resolve));
      return response('HealthCheckResponse');
    });
    const startSlow = (): Promise<void> => new Promise((resolve) => (slowStarted = resolve));
    const sessions: http2.ClientHttp2Session[] = [];
    const peers: RawPeer[] = [];
    const connect = async (): Promise<http2.ClientHttp2Session> => {
      const session = overTls ? http2.connect(`https://${host}:${sdkPort}`, { ca: caPem }) : http2.connect(`http://${host}:${sdkPort}`);
      session.on('error', () => undefined);
      sessions.push(session);
      await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
      return session;
    };
    /** A raw session registered with its bi-stream open; pushes are not answered. */
    const registered = async (): Promise<{ session: http2.ClientHttp2Session; id: string; biStream: http2.ClientHttp2Stream }> => {
      const session = await connect();
      const id = String((await unaryReply(session)).body['connectionId']);
      const setup = request('ConnectionSetupRequest', { clientVersion: 'conformance', labels: { source: 'sdk' } });
      const { stream } = rawCall(session, frame(encodePayload(setup, { clientIp: '127.0.0.1' })), { path: GrpcPaths.BI_STREAM, keepOpen: true });
      await eventually(() => server.manager.checkValid(id), 5000, 'registration');
      return { session, id, biStream: stream };
    };

    /** Resolves with the reason the connection is unregistered, once it is. */
    const unregistration = (id: string): Promise<string> =>
      new Promise((resolve) => {
        const remove = server.addConnectionListener({
          name: `conformance-${id}`,
          onDisconnected: (connection, reason) => {
            if (connection.id !== id) return;
            remove();
            resolve(reason);
          },
        });
      });

    after(async () => {
      releaseSlow();
      for (const peer of peers) peer.close();
      for (const session of sessions) session.destroy();
      await server.close();
    });

    it('answers a unary call and pushes on the bi-stream with their acks (grpc-js client)', async () => {
      const peer = new RawPeer(host, sdkPort, {}, overTls ? grpc.credentials.createSsl(caPem) : grpc.credentials.createInsecure());
      peers.push(peer);
      const id = await peer.register();
      assert.equal((await peer.unary(request('HealthCheckRequest'))).resultCode, 200);
      const answers = await Promise.all([1, 2, 3].map(() => server.push(id, request('ClientDetectionRequest'), 5000)));
      assert.deepEqual(answers.map((a) => a.type), ['ClientDetectionResponse', 'ClientDetectionResponse', 'ClientDetectionResponse']);
    });

    it('our RpcClient works unchanged: two in one process get two registered connections', async () => {
      const clients = [0, 1].map(() => new RpcClient({ serverAddresses: [`${host}:${port}`], logger: testLogger, ...clientTls }));
      try {
        await Promise.all(clients.map((client) => client.start()));
        const ids = clients.map((client) => client.connectionId);
        assert.notEqual(ids[0], ids[1]);
        for (const id of ids) assert.ok(id !== undefined && server.manager.checkValid(id), `${id} registered`);
        for (const client of clients) assert.equal((await client.request(request('HealthCheckRequest'))).resultCode, 200);
      } finally {
        await Promise.all(clients.map((client) => client.shutdown()));
      }
    });

    it('two clients in one process get two connection ids; every call on one shares its id', async () => {
      const [a, b] = [await connect(), await connect()];
      const idA = (await unaryReply(a)).body['connectionId'];
      assert.notEqual(idA, (await unaryReply(b)).body['connectionId']);
      assert.equal((await unaryReply(a)).body['connectionId'], idA);
    });

    it("the connection's close event fires when its TCP socket closes", async () => {
      const { session, id } = await registered();
      const gone = unregistration(id);
      session.destroy();
      assert.ok([UnregisterReason.TRANSPORT_CLOSED, 'stream cancelled', 'stream error', 'stream ended by client'].includes(await gone));
      assert.equal(server.manager.checkValid(id), false);
    });

    it('an unknown path gets UNIMPLEMENTED and the session goes on', async () => {
      const session = await connect();
      const { result } = rawCall(session, frame(Buffer.from('x')), { path: '/Nope/nothing' });
      assert.equal((await result).grpcStatus, 12);
      await unaryReply(session);
    });

    it('grpc-timeout expiry ends a call with DEADLINE_EXCEEDED; the late answer is dropped and the connection stays', async () => {
      const { session, id } = await registered();
      const started = startSlow();
      const { result } = rawCall(session, frame(encodePayload(request('SlowRequest'), { clientIp: '127.0.0.1' })), { headers: { 'grpc-timeout': '200m' } });
      await started;
      const { grpcStatus, messages } = await result;
      releaseSlow();
      assert.equal(grpcStatus, 4);
      assert.equal(messages.length, 0);
      assert.ok(server.manager.checkValid(id));
      await unaryReply(session, request('HealthCheckRequest'));
    });

    it('regression: a grpc-timeout longer than a timer holds (1000H, 99999999H) does not end the call at once', async () => {
      const session = await connect();
      const payload = frame(encodePayload(request('ServerCheckRequest')));
      // No call half-closes, so only a deadline can end one; the short call's expiry is the clock.
      // Its status is read from the headers: grpc-js ends only its own side of such a stream.
      const long = ['1000H', '99999999H'].map((timeout) => {
        const call = rawCall(session, payload, { headers: { 'grpc-timeout': timeout }, keepOpen: true });
        const state = { status: undefined as number | undefined };
        void grpcStatusOf(call.stream).then((status) => (state.status = status));
        return { ...call, state };
      });
      const short = rawCall(session, payload, { headers: { 'grpc-timeout': '100m' }, keepOpen: true });
      assert.equal(await grpcStatusOf(short.stream), 4);
      assert.deepEqual(long.map((call) => call.state.status), [undefined, undefined], 'the long calls outlive a 100 ms deadline');
      for (const call of long) call.stream.end();
      for (const call of long) {
        const { grpcStatus, messages } = await call.result;
        assert.equal(grpcStatus, 0);
        assert.equal(decodePayload(messages[0]!).type, 'ServerCheckResponse');
      }
    });

    it("a unary message over the size limit gets RESOURCE_EXHAUSTED; the session's bi-stream and registration stay", async () => {
      const { session, id } = await registered();
      const big = encodePayload({ kind: 'request', type: 'HealthCheckRequest', headers: { pad: 'x'.repeat(MAX_MESSAGE_BYTES) }, body: {} });
      const { result } = rawCall(session, frame(big));
      assert.equal((await result).grpcStatus, 8);
      assert.ok(server.manager.checkValid(id), 'still registered');
      assert.equal((await unaryReply(session, request('HealthCheckRequest'))).resultCode, 200);
    });

    it('a message compressed with an encoding the server lacks gets UNIMPLEMENTED; the session goes on', async () => {
      const session = await connect();
      const { result } = rawCall(session, frame(encodePayload(request('ServerCheckRequest')), 1), { headers: { 'grpc-encoding': 'snappy' } });
      assert.equal((await result).grpcStatus, 12);
      await unaryReply(session);
    });

    it('a truncated message (end of stream inside it) fails the call; the session goes on', async () => {
      const session = await connect();
      const whole = frame(encodePayload(request('ServerCheckRequest')));
      const { result } = rawCall(session, whole.subarray(0, whole.length - 3));
      const { grpcStatus } = await result;
      assert.ok(grpcStatus !== undefined && grpcStatus !== 0, `status ${grpcStatus}`);
      await unaryReply(session);
    });

    it('GOAWAY when the server closes a connection: the in-flight call still finishes', async () => {
      const { session, id } = await registered();
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const started = startSlow();
      const { result } = rawCall(session, frame(encodePayload(request('SlowRequest'), { clientIp: '127.0.0.1' })));
      await started;
      server.manager.get(id)!.close();
      await goaway;
      releaseSlow();
      const { grpcStatus, messages } = await result;
      assert.equal(grpcStatus, 0);
      const reply = decodePayload(messages[0]!);
      assert.equal(reply.kind === 'response' && reply.resultCode, 200);
    });

    it('advertises the stream cap, and a client that keeps to it has every call answered', async () => {
      const session = await connect();
      assert.equal(session.remoteSettings.maxConcurrentStreams, MAX_STREAMS);
      const replies = await Promise.all(Array.from({ length: 3 * MAX_STREAMS }, () => unaryReply(session)));
      assert.equal(replies.length, 3 * MAX_STREAMS);
    });

    it('a client that stops reading its bi-stream is closed at the outbound cap, not buffered without bound', async () => {
      const { session, id, biStream } = await registered();
      biStream.pause();
      const reason = unregistration(id);
      const pad = 'y'.repeat(32 * 1024);
      let sent = 0;
      // Far more than the cap (256 KiB) plus every window on the way (64 KiB each by default).
      while (server.manager.checkValid(id) && sent < 200) {
        void server.push(id, { ...request('ClientDetectionRequest'), headers: { pad } }, 10_000).catch(() => undefined);
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(await reason, UnregisterReason.OUTBOUND_OVERFLOW);
      assert.ok(sent < 200, `closed after ${sent} pushes of 32 KiB`);
      session.destroy();
    });

    if (transport === 'http2') {
      it('http2 only: the compressed flag without an encoding is INTERNAL, as gRPC says (grpc-js reads it as plain)', async () => {
        const session = await connect();
        const { result } = rawCall(session, frame(encodePayload(request('ServerCheckRequest')), 1));
        assert.equal((await result).grpcStatus, 13);
        await unaryReply(session);
      });

      it('http2 only: an invalid flag byte or grpc-timeout is INTERNAL; a non-gRPC content-type is HTTP 415', async () => {
        const session = await connect();
        const payload = encodePayload(request('ServerCheckRequest'));
        assert.equal((await rawCall(session, frame(payload, 7)).result).grpcStatus, 13);
        assert.equal((await rawCall(session, frame(payload), { headers: { 'grpc-timeout': 'soon' } }).result).grpcStatus, 13);
        assert.equal((await rawCall(session, frame(payload), { headers: { 'content-type': 'application/json' } }).result).httpStatus, 415);
        await unaryReply(session);
      });
    }
  });
}

// Regression: a complete unary request waiting for its half-close was outside the caps, so 100
// streams each holding a whole message made a connection hold 100 messages.
for (const transport of ['grpc-js', 'http2'] as const satisfies readonly TransportKind[]) {
  describe(`transport conformance: ${transport}: a complete request not yet half-closed counts against the caps`, { timeout: 30_000 }, async () => {
    const MESSAGE_BYTES = 60 * 1024;
    // Room for two requests, and for the socket reads grpc-js keeps while they arrive (reserved
    // beyond their declared bytes: 8 KiB more here), but not for three.
    const { server, sdkPort, host } = await startTestServer({ transport, maxMessageBytes: 64 * 1024, maxSessionBufferedBytes: 160 * 1024 });
    const sessions: http2.ClientHttp2Session[] = [];
    after(async () => {
      for (const session of sessions) session.destroy();
      await server.close();
    });
    const whole = frame(encodePayload({ kind: 'request', type: 'ServerCheckRequest', headers: { pad: 'x'.repeat(MESSAGE_BYTES) }, body: {} }));

    it('a third whole request beside two waiting ones is reset; finishing one makes room again', async () => {
      const session = http2.connect(`http://${host}:${sdkPort}`);
      session.on('error', () => undefined);
      sessions.push(session);
      await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
      const waiting = [rawCall(session, whole, { keepOpen: true }), rawCall(session, whole, { keepOpen: true })];
      // Answered after the server has read what was sent before it on this connection.
      await unaryReply(session);
      const third = rawCall(session, whole, { keepOpen: true });
      assert.equal((await third.result).rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      waiting[0]!.stream.end();
      assert.equal((await waiting[0]!.result).grpcStatus, 0);
      const fourth = rawCall(session, whole, { keepOpen: true });
      await unaryReply(session);
      assert.equal(fourth.stream.closed, false, 'fits once the first was answered');
      for (const call of [waiting[1]!, fourth]) call.stream.end();
      for (const call of [waiting[1]!, fourth]) assert.equal((await call.result).grpcStatus, 0);
    });
  });
}

/** What only the node:http2 transport does: keepalive, the unfinished-message budget, closing a listener. */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { encodePayload, GrpcPaths, request } from '../../../src/protocol/index.js';
import { eventually } from '../../support/raw-peer.js';
import { startTestServer } from '../../support/server.js';

const KiB = 1024;

function prefix(length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(length, 1);
  return header;
}

function connect(host: string, port: number, sessions: http2.ClientHttp2Session[]): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://${host}:${port}`);
  session.on('error', () => undefined);
  sessions.push(session);
  return new Promise((resolve) => session.once('remoteSettings', () => resolve(session)));
}

function openCall(session: http2.ClientHttp2Session, path: string = GrpcPaths.REQUEST): { stream: http2.ClientHttp2Stream; status: Promise<number> } {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.resume();
  let status = -1;
  stream.on('response', (headers) => {
    if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
  });
  // As a gRPC client: the status ends the call, so our side ends too.
  stream.on('trailers', (trailers) => {
    status = Number(trailers['grpc-status']);
    stream.end();
  });
  return { stream, status: new Promise((resolve) => stream.on('close', () => resolve(status))) };
}

describe('http2 transport: keepalive', { timeout: 30_000 }, async () => {
  const { server, sdkPort, host } = await startTestServer({ transport: 'http2', keepaliveTimeMs: 50, keepaliveTimeoutMs: 300 });
  const sessions: http2.ClientHttp2Session[] = [];
  const sockets: net.Socket[] = [];
  after(async () => {
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
    await server.close();
  });

  it('pings every keepaliveTimeMs; a peer that answers stays connected', async () => {
    const session = await connect(host, sdkPort, sessions);
    let pings = 0;
    session.on('ping', () => pings++);
    await eventually(() => pings >= 3, 5000, 'three keepalive pings');
    assert.equal(session.closed || session.destroyed, false);
  });

  it('a peer that does not answer a ping within keepaliveTimeoutMs is disconnected', async () => {
    // A bare HTTP/2 peer: preface and SETTINGS, then silence (no PING ack, no SETTINGS ack).
    const socket = net.connect(sdkPort, host);
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await closed;
    assert.ok(socket.destroyed);
  });
});

describe('http2 transport: unfinished inbound messages per session', { timeout: 30_000 }, async () => {
  const { server, sdkPort, host } = await startTestServer({ transport: 'http2', maxMessageBytes: 256 * KiB, maxSessionBufferedBytes: 300 * KiB });
  const sessions: http2.ClientHttp2Session[] = [];
  after(async () => {
    for (const session of sessions) session.destroy();
    await server.close();
  });

  it('a message that would take the session past its budget is reset with ENHANCE_YOUR_CALM; the held ones go on', async () => {
    const session = await connect(host, sdkPort, sessions);
    const first = openCall(session);
    first.stream.write(Buffer.concat([prefix(140 * KiB), Buffer.alloc(10, 1)]));
    const second = openCall(session);
    second.stream.write(Buffer.concat([prefix(140 * KiB), Buffer.alloc(10, 1)]));
    // Both held (280 KiB); the third's frames come after theirs on the one TCP connection, so it does not fit.
    const third = openCall(session);
    third.stream.write(Buffer.concat([prefix(140 * KiB), Buffer.alloc(10, 1)]));
    await third.status;
    assert.equal(third.stream.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'reset at once, as the grpc-js transport does');
    // The first completes (an undecodable body is still a message): its bytes are released.
    first.stream.end(Buffer.alloc(140 * KiB - 10, 0xff));
    assert.equal(await first.status, 0);
    const fourth = openCall(session);
    fourth.stream.write(Buffer.concat([prefix(140 * KiB), Buffer.alloc(10, 1)]));
    fourth.stream.end(Buffer.alloc(140 * KiB - 10, 0xff));
    assert.equal(await fourth.status, 0);
    second.stream.close();
  });
});

describe('http2 transport: response headers', { timeout: 30_000 }, async () => {
  const { server, sdkPort, host } = await startTestServer({ transport: 'http2' });
  const sessions: http2.ClientHttp2Session[] = [];
  after(async () => {
    for (const session of sessions) session.destroy();
    await server.close();
  });

  const headersOf = (stream: http2.ClientHttp2Stream) => new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));

  it('a unary reply and a trailers-only refusal carry no date (Node would format one per call; gRPC servers send none)', async () => {
    const session = await connect(host, sdkPort, sessions);
    const answered = openCall(session);
    const answeredHeaders = headersOf(answered.stream);
    const message = encodePayload(request('ServerCheckRequest'));
    answered.stream.end(Buffer.concat([prefix(message.byteLength), message]));
    const refused = openCall(session, '/Unknown/method');
    const refusedHeaders = headersOf(refused.stream);
    refused.stream.end();
    assert.equal(await answered.status, 0);
    assert.equal(await refused.status, 12);
    const replied = await answeredHeaders;
    assert.equal(replied[':status'], 200);
    assert.equal(replied['content-type'], 'application/grpc');
    assert.equal(replied.date, undefined);
    assert.equal((await refusedHeaders).date, undefined);
  });
});

describe('http2 transport: closing the listener', { timeout: 30_000 }, () => {
  it('ends an open bi-stream with UNAVAILABLE (the client learns why), then resolves', async () => {
    const { server, sdkPort, host } = await startTestServer({ transport: 'http2' });
    const sessions: http2.ClientHttp2Session[] = [];
    try {
      const session = await connect(host, sdkPort, sessions);
      const biStream = openCall(session, GrpcPaths.BI_STREAM);
      await new Promise((resolve) => biStream.stream.once('response', resolve));
      const closed = server.close();
      assert.equal(await biStream.status, 14);
      await closed;
      assert.ok(session.closed || session.destroyed || (await new Promise((resolve) => session.once('close', () => resolve(true)))));
    } finally {
      for (const session of sessions) session.destroy();
      await server.close();
    }
  });
});

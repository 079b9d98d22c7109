import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodePayload, encodePayload, GrpcPaths, request } from '../../../src/protocol/index.js';
import { GrpcInternalsError, injectorHttp2Server, REQUIRED_GRPC_JS_VERSION } from '../../../src/server/transport/grpc-transport.js';
import { startTestServer } from '../../support/server.js';

const KiB = 1024;

type CallOutcome = { readonly answered: true; readonly resultCode: number } | { readonly answered: false; readonly rstCode: number };

/** A gRPC prefix (flag 0, 4-byte length) declaring `length` bytes. */
function prefix(length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(length, 1);
  return header;
}

function openCall(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const stream = session.request({ ':method': 'POST', ':path': GrpcPaths.REQUEST, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => {});
  return stream;
}

/** Waits for a call's answer (its payload's resultCode) or for the stream's reset. */
function outcomeOf(stream: http2.ClientHttp2Stream): Promise<CallOutcome> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    stream.on('close', () => {
      const body = Buffer.concat(chunks);
      if (body.length > 5) {
        const reply = decodePayload(body.subarray(5));
        resolve({ answered: true, resultCode: reply.kind === 'response' ? reply.resultCode : -1 });
      } else {
        resolve({ answered: false, rstCode: stream.rstCode ?? -1 });
      }
    });
  });
}

/** A ServerCheck unary call over raw HTTP/2. */
function serverCheck(session: http2.ClientHttp2Session): Promise<CallOutcome> {
  const stream = openCall(session);
  const bytes = Buffer.from(encodePayload(request('ServerCheckRequest')));
  stream.end(Buffer.concat([prefix(bytes.length), bytes]));
  return outcomeOf(stream);
}

/** Starts a message declaring `declared` bytes and sends `sent` of them, leaving it unfinished. */
function unfinishedMessage(session: http2.ClientHttp2Session, declared: number, sent: number): { stream: http2.ClientHttp2Stream; outcome: Promise<CallOutcome> } {
  const stream = openCall(session);
  const outcome = outcomeOf(stream);
  stream.write(Buffer.concat([prefix(declared), Buffer.alloc(sent, 0x61)]));
  return { stream, outcome };
}

/** Resolves once the session has its peer's SETTINGS (so it keeps to the stream limit). */
function connected(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => session.once('remoteSettings', () => resolve()));
}

describe('grpc-js private shape', () => {
  it('a grpc-js server without the injector HTTP/2 server map fails with a message naming both versions', () => {
    for (const stub of [{}, { http2Servers: new Map() }, { http2Servers: {} }, { http2Servers: new Map([['not a server', {}]]) }]) {
      assert.throws(
        () => injectorHttp2Server(stub, '1.99.0'),
        (error: unknown) =>
          error instanceof GrpcInternalsError &&
          error.code === 'GRPC_INTERNALS_CHANGED' &&
          error.message.includes('@grpc/grpc-js 1.99.0 lacks') &&
          error.message.includes(`needs exactly @grpc/grpc-js ${REQUIRED_GRPC_JS_VERSION}`),
      );
    }
  });

  it('the installed grpc-js has it', () => {
    const server = new grpc.Server();
    server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    assert.ok(injectorHttp2Server(server));
    server.forceShutdown();
  });

  it('package.json pins exactly the version the transport requires, and it is the one installed', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies['@grpc/grpc-js'], REQUIRED_GRPC_JS_VERSION);
    const installed = createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string };
    assert.equal(installed.version, REQUIRED_GRPC_JS_VERSION);
  });
});

describe('concurrent streams per session', async () => {
  const { server, sdkPort, host } = await startTestServer({ maxConcurrentStreams: 4 });
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = (): http2.ClientHttp2Session => {
    const session = http2.connect(`http://${host}:${sdkPort}`);
    session.on('error', () => {});
    sessions.push(session);
    return session;
  };
  after(async () => {
    for (const session of sessions) session.destroy();
    await server.close();
  });

  it('streams beyond the cap sent before the limit is known are refused; the others are answered', { timeout: 30_000 }, async () => {
    // Sent at once, before the server's SETTINGS arrive: the client assumes 100.
    const session = connect();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => serverCheck(session)));
    assert.deepEqual(
      outcomes.filter((o) => o.answered),
      Array.from({ length: 4 }, () => ({ answered: true, resultCode: 200 })),
    );
    assert.deepEqual(
      outcomes.filter((o) => !o.answered),
      Array.from({ length: 2 }, () => ({ answered: false, rstCode: http2.constants.NGHTTP2_REFUSED_STREAM })),
    );
    assert.deepEqual(await serverCheck(session), { answered: true, resultCode: 200 }, 'the session goes on');
  });

  it('a client that knows the limit queues its streams and every call is answered', async () => {
    const session = connect();
    await connected(session);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 4);
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => serverCheck(session)));
    assert.deepEqual(outcomes, Array.from({ length: 12 }, () => ({ answered: true, resultCode: 200 })));
  });
});

describe('unfinished inbound messages over budget', async () => {
  const { server, sdkPort, host } = await startTestServer({
    maxMessageBytes: 256 * KiB,
    maxSessionBufferedBytes: 512 * KiB,
    maxBufferedBytes: 768 * KiB,
  });
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = async (): Promise<http2.ClientHttp2Session> => {
    const session = http2.connect(`http://${host}:${sdkPort}`);
    session.on('error', () => {});
    sessions.push(session);
    await connected(session);
    return session;
  };
  after(async () => {
    for (const session of sessions) session.destroy();
    await server.close();
  });

  it("a message that does not fit its session's budget is refused; the session's other calls go on", { timeout: 30_000 }, async () => {
    const session = await connect();
    const held = [unfinishedMessage(session, 200 * KiB, 10 * KiB), unfinishedMessage(session, 200 * KiB, 10 * KiB)];
    // Both reserved (400 KiB of 512): a ServerCheck (a few bytes) still fits.
    assert.deepEqual(await serverCheck(session), { answered: true, resultCode: 200 });
    const refused = unfinishedMessage(session, 200 * KiB, 10 * KiB);
    assert.deepEqual(await refused.outcome, { answered: false, rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
    assert.deepEqual(await serverCheck(session), { answered: true, resultCode: 200 });
    for (const { stream } of held) assert.equal(stream.closed, false, 'messages within budget are still being received');

    // Finishing one gives its bytes back: a new message of that size fits again.
    const [first] = held;
    first!.stream.end(Buffer.alloc(190 * KiB, 0x61));
    await first!.outcome;
    const fits = unfinishedMessage(session, 200 * KiB, 10 * KiB);
    assert.deepEqual(await serverCheck(session), { answered: true, resultCode: 200 });
    assert.equal(fits.stream.closed, false);
    for (const { stream } of [...held, fits]) stream.close();
    // Answered only after the server has read the resets before it: their bytes are given back.
    assert.deepEqual(await serverCheck(session), { answered: true, resultCode: 200 });
  });

  it("a message that does not fit the node's budget is refused, whichever session sends it", { timeout: 30_000 }, async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    const held = [unfinishedMessage(a, 250 * KiB, 10 * KiB), unfinishedMessage(b, 250 * KiB, 10 * KiB), unfinishedMessage(c, 250 * KiB, 10 * KiB)];
    // Three sessions under their own budget hold 750 of the node's 768 KiB once the server has read
    // each (a call answered on a session comes after what was sent before it).
    for (const session of [a, b, c]) assert.deepEqual(await serverCheck(session), { answered: true, resultCode: 200 });
    const refused = unfinishedMessage(a, 100 * KiB, 10 * KiB);
    assert.deepEqual(await refused.outcome, { answered: false, rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
    assert.deepEqual(await serverCheck(a), { answered: true, resultCode: 200 }, 'the session goes on');
    for (const { stream } of held) assert.equal(stream.closed, false);
  });
});

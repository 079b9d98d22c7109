/**
 * Regression (review of the unary merge): Node hands each HTTP/2 DATA chunk over as a view of the
 * whole socket read, shared with the other streams' frames in it. A transport that kept the views
 * of a message dripped one byte per read held 32-64 KiB per byte its budgets counted.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NacosServer } from '../../../src/server/nacos-server.js';
import { GrpcPaths } from '../../../src/protocol/index.js';
import { startTestServer, transportUnderTest } from '../../support/server.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SESSION_BUDGET = 4 * MiB;
/** Complete messages on another stream, sent in the same read as each dripped byte. */
const FILLER = Buffer.concat([prefix(16 * KiB - 5), Buffer.alloc(16 * KiB - 5), prefix(16 * KiB - 5), Buffer.alloc(16 * KiB - 5)]);

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * ArrayBuffer bytes alive in this process (server and client) after full GCs. V8 frees backing
 * stores off the main thread, later on a loaded machine: collect until the figure holds still.
 */
async function liveArrayBuffers(): Promise<number> {
  let last = Infinity;
  for (let round = 0; round < 20; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const now = process.memoryUsage().arrayBuffers;
    if (now === last) return now;
    last = now;
  }
  return last;
}

function prefix(length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(length, 1);
  return header;
}

function openStream(session: http2.ClientHttp2Session, path: string): http2.ClientHttp2Stream {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.resume();
  return stream;
}

/** Resolves once the server has read every frame written before it (its PING ack comes after them). */
function serverRead(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.ping((error) => (error ? reject(error) : resolve()));
  });
}

describe(`a dripped message pins no socket reads beyond its budget (${transportUnderTest()})`, { timeout: 120_000 }, () => {
  let server: NacosServer;
  let sdkPort: number;
  const sessions: http2.ClientHttp2Session[] = [];

  before(async () => {
    ({ server, sdkPort } = await startTestServer({ maxSessionBufferedBytes: SESSION_BUDGET, setupTimeoutMs: 60_000 }));
  });

  after(async () => {
    for (const session of sessions) session.destroy();
    await server?.close();
  });

  async function connect(): Promise<{ session: http2.ClientHttp2Session; filler: http2.ClientHttp2Stream }> {
    const session = http2.connect(`http://127.0.0.1:${sdkPort}`);
    session.on('error', () => undefined);
    sessions.push(session);
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    // Undecodable messages on an unregistered bi-stream are dropped: the stream stays open.
    return { session, filler: openStream(session, GrpcPaths.BI_STREAM) };
  }

  it('a 1 MiB bi-stream message sent one byte per read, 32 KiB of other frames in each: growth within the session budget', async (t) => {
    const { session, filler } = await connect();
    await serverRead(session);
    const before = await liveArrayBuffers();
    const dripped = openStream(session, GrpcPaths.BI_STREAM);
    let refused = false;
    dripped.on('close', () => (refused = true));
    dripped.write(prefix(MiB));
    const rounds = 1500;
    let sent = 0;
    for (; sent < rounds && !refused; sent++) {
      dripped.write(Buffer.of(0x61));
      filler.write(FILLER);
      await serverRead(session);
    }
    const grown = (await liveArrayBuffers()) - before;
    t.diagnostic(`${sent} bytes dripped, ${refused ? 'then refused' : 'all taken in'}; ArrayBuffers grew by ${(grown / MiB).toFixed(1)} MiB`);
    // Before the fix: about 32 KiB per byte dripped (47 MiB here), never refused. Now the http2
    // transport copies the bytes out; the grpc-js one reserves the reads and refuses the stream.
    assert.ok(grown < SESSION_BUDGET + MiB, `ArrayBuffers grew by ${(grown / MiB).toFixed(1)} MiB`);
    dripped.close();
  });

  it('unary requests awaiting half-close, each complete in a read full of other frames, pin no more than twice their size', { skip: transportUnderTest() === 'grpc-js' ? "grpc-js's decoder keeps each message's flag byte as a view of its read" : false }, async (t) => {
    const { session, filler } = await connect();
    await serverRead(session);
    const before = await liveArrayBuffers();
    const waiting: http2.ClientHttp2Stream[] = [];
    for (let i = 0; i < 90; i++) {
      const unary = openStream(session, GrpcPaths.REQUEST);
      unary.write(Buffer.concat([prefix(16), Buffer.alloc(16, 0x61)]));
      filler.write(FILLER);
      await serverRead(session);
      waiting.push(unary);
    }
    const grown = (await liveArrayBuffers()) - before;
    t.diagnostic(`ArrayBuffers grew by ${(grown / KiB).toFixed(0)} KiB`);
    // Before the fix: each kept request pinned its whole read (about 2.9 MiB here).
    assert.ok(grown < 512 * KiB, `ArrayBuffers grew by ${(grown / KiB).toFixed(0)} KiB`);
    for (const unary of waiting) unary.close();
  });
});

// Regression for issue 13's rebalance at 3,000 clients in one process: when the client's process
// stalled (a busy machine, its own work), grpc-js's deadline timer ran before the socket was read,
// so an answer that had arrived in time counted as a timeout; health checks "failed" by the
// thousand and the clients reconnected at once, a storm. The server here is another process, so
// it answers while this one is stalled.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { GrpcConnection } from '../../src/client/grpc-connection.js';
import { channelSecurity } from '../../src/client/tls.js';
import { ConnectionClosedError, MAX_TIMER_DELAY_MS, MessageRegistry, NacosRemoteError, request, RequestTimeoutError, response } from '../../src/protocol/index.js';
import { freezeProcess } from '../support/freeze.js';
import { NodeProcess } from '../support/node-process.js';
import { findMainPort } from '../support/ports.js';
import { RawUnaryServer } from '../support/raw-unary-server.js';

/** Generous: a call on loopback that has not settled by then never will. */
const HANG_GUARD = { timeout: 20_000 };

/** This thread does nothing for `ms` (no timers, no I/O): the process stalls as a starved one does. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Bytes received and not yet read on this machine's established IPv4 connections to the port
 * (/proc/net/tcp: addresses `HEXIP:HEXPORT`, state 01, then `tx_queue:rx_queue` in hex).
 */
function unreadBytesFrom(remotePort: number): number {
  let unread = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || fields[3] !== '01' || Number.parseInt(fields[2]!.split(':')[1]!, 16) !== remotePort) continue;
    unread += Number.parseInt(fields[4]!.split(':')[1]!, 16);
  }
  return unread;
}

/**
 * Stalls this thread until the answer from the port has arrived unread and stopped growing, at most
 * `capMs`: synchronous reads of /proc work while the event loop is stalled.
 */
function stallUntilAnswered(remotePort: number, capMs: number): void {
  const end = Date.now() + capMs;
  let seen = 0;
  while (Date.now() < end) {
    stall(10);
    const unread = unreadBytesFrom(remotePort);
    if (unread > 0 && unread === seen) return;
    seen = unread;
  }
}

function connectTo(port: number, grpcPortOffset: number): GrpcConnection {
  return new GrpcConnection({
    server: { ip: '127.0.0.1', port },
    grpcPortOffset,
    maxMessageBytes: 10 * 1024 * 1024,
    keepaliveTimeMs: 360_000,
    keepaliveTimeoutMs: 20_000,
    clientIp: '127.0.0.1',
    registry: MessageRegistry.connectionLayer(),
    logger: pino({ level: 'silent' }),
    security: channelSecurity(undefined),
  });
}

/** Timers that keep this process alive (unref'd ones, as grpc-js's own, are not listed). */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

describe('GrpcConnection: a request whose answer arrived while the process stalled', () => {
  let node: NodeProcess;
  let connection: GrpcConnection;

  before(async () => {
    node = new NodeProcess('127.0.0.1', await findMainPort());
    await node.start();
    connection = connectTo(node.port, 1000);
    // The transport is up before the stall: only the answer is in question.
    await connection.request(request('ServerCheckRequest'), 10_000);
  });

  after(async () => {
    await connection?.close();
    await node?.dispose();
  });

  it('resolves with the answer, although its timeout passed during the stall', async () => {
    const answer = connection.request(request('ServerCheckRequest'), 200);
    // After this turn has written the request, stall until the node's answer is in the socket.
    setImmediate(() => stallUntilAnswered(node.port + 1000, 10_000));
    const reply = await answer;
    assert.equal(reply.type, 'ServerCheckResponse');
  });

  it('still times out when no answer comes', async () => {
    await freezeProcess(node.pid!);
    await assert.rejects(connection.request(request('ServerCheckRequest'), 200), RequestTimeoutError);
  });
});

describe('GrpcConnection on a bare gRPC server', () => {
  let server: RawUnaryServer;
  const connections: GrpcConnection[] = [];
  const serverCheck = () => request('ServerCheckRequest');
  const serverCheckAnswer = () => response('ServerCheckResponse', { connectionId: 'raw' });

  /** A connection whose transport is up (its first request answered), so grpc-js's own setup is done. */
  async function connected(): Promise<GrpcConnection> {
    const connection = connectTo(server.port, 0);
    connections.push(connection);
    const first = connection.request(serverCheck(), 10_000);
    (await server.nextCall()).answer(serverCheckAnswer());
    await first;
    return connection;
  }

  before(async () => {
    server = await RawUnaryServer.start();
  });

  after(async () => {
    for (const connection of connections) await connection.close();
    await server?.close();
  });

  it('sends no grpc-timeout, and leaves no timer behind once a request is answered or fails', HANG_GUARD, async () => {
    const connection = await connected();
    const timersBefore = activeTimers();

    const answered = connection.request(serverCheck(), 60_000);
    const call = await server.nextCall();
    assert.equal(call.headers['grpc-timeout'], undefined);
    call.answer(serverCheckAnswer());
    assert.equal((await answered).type, 'ServerCheckResponse');

    const failed = connection.request(serverCheck(), 60_000);
    (await server.nextCall()).fail(grpc.status.INTERNAL, 'boom');
    await assert.rejects(failed, (error: unknown) => error instanceof NacosRemoteError && error.code === 'TRANSPORT_ERROR');

    assert.equal(activeTimers(), timersBefore);
  });

  for (const timeoutMs of [0, -1, Infinity, MAX_TIMER_DELAY_MS + 1]) {
    it(`a timeout of ${timeoutMs} ms is none: the request waits for a late answer`, HANG_GUARD, async () => {
      const connection = await connected();
      const outcome = connection.request(serverCheck(), timeoutMs).then(
        (reply) => reply.type,
        (error: unknown) => error,
      );
      const call = await server.nextCall();
      // The scenario, not a synchronisation: an answer later than the 1 ms a timer given such a
      // timeout fires after (a stalled process runs both timers in one turn, and still the
      // timeout's turn of I/O comes after the answer is written).
      await new Promise((resolve) => setTimeout(resolve, 50));
      call.answer(serverCheckAnswer());
      assert.equal(await outcome, 'ServerCheckResponse');
    });
  }

  it('close cancels a call still unanswered after its grace: it rejects with ConnectionClosedError, and no timer keeps the process', HANG_GUARD, async () => {
    const connection = await connected();
    const timersBefore = activeTimers();
    const unanswered = connection.request(serverCheck(), 60_000);
    const call = await server.nextCall();

    await connection.close(0);

    await assert.rejects(unanswered, ConnectionClosedError);
    await call.closed;
    assert.equal(activeTimers(), timersBefore);
  });

  it('a call that grpc-js refuses to start rejects with a transport error, leaves no timer and nothing in flight', HANG_GUARD, async (t) => {
    const connection = await connected();
    const timersBefore = activeTimers();
    t.mock.method(grpc.Client.prototype, 'makeUnaryRequest', () => {
      throw new Error('refused');
    });

    await assert.rejects(connection.request(serverCheck(), 60_000), (error: unknown) => error instanceof NacosRemoteError && error.code === 'TRANSPORT_ERROR');

    assert.equal(activeTimers(), timersBefore);
    // Nothing in flight: the close's grace does not wait.
    await connection.close(60_000);
  });
});

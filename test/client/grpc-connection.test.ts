// Regression for issue 13's rebalance at 3,000 clients in one process: when the client's process
// stalled (a busy machine, its own work), grpc-js's deadline timer ran before the socket was read,
// so an answer that had arrived in time counted as a timeout; health checks "failed" by the
// thousand and the clients reconnected at once, a storm. The server here is another process, so
// it answers while this one is stalled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { GrpcConnection } from '../../src/client/grpc-connection.js';
import { channelSecurity } from '../../src/client/tls.js';
import { MessageRegistry, request, RequestTimeoutError } from '../../src/protocol/index.js';
import { freezeProcess } from '../support/freeze.js';
import { NodeProcess } from '../support/node-process.js';
import { findMainPort } from '../support/ports.js';

/** This thread does nothing for `ms` (no timers, no I/O): the process stalls as a starved one does. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('GrpcConnection: a request whose answer arrived while the process stalled', () => {
  let node: NodeProcess;
  let connection: GrpcConnection;

  before(async () => {
    node = new NodeProcess('127.0.0.1', await findMainPort());
    await node.start();
    connection = new GrpcConnection({
      server: { ip: '127.0.0.1', port: node.port },
      grpcPortOffset: 1000,
      maxMessageBytes: 10 * 1024 * 1024,
      keepaliveTimeMs: 360_000,
      keepaliveTimeoutMs: 20_000,
      clientIp: '127.0.0.1',
      registry: MessageRegistry.connectionLayer(),
      logger: pino({ level: 'silent' }),
      security: channelSecurity(undefined),
    });
    // The transport is up before the stall: only the answer is in question.
    await connection.request(request('ServerCheckRequest'), 10_000);
  });

  after(async () => {
    await connection?.close();
    await node?.dispose();
  });

  it('resolves with the answer, although its timeout passed during the stall', async () => {
    const answer = connection.request(request('ServerCheckRequest'), 200);
    // After this turn has written the request: the node answers within the stall (a generous one).
    setImmediate(() => stall(3000));
    const reply = await answer;
    assert.equal(reply.type, 'ServerCheckResponse');
  });

  it('still times out when no answer comes', async () => {
    await freezeProcess(node.pid!);
    await assert.rejects(connection.request(request('ServerCheckRequest'), 200), RequestTimeoutError);
  });
});

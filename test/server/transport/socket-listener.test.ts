/**
 * SocketListener with TLS on, its deadlines on a manual clock: a peer that never finishes its
 * handshake is closed once the deadline passes, and stopAccepting() closes sockets still in their
 * handshake. Accepted sockets are handed to a stand-in for the gRPC implementation.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SocketListener, type ListenedTransport } from '../../../src/server/transport/socket-listener.js';
import { TlsTerminator } from '../../../src/server/transport/tls-terminator.js';
import type { TransportHandlers } from '../../../src/server/transport/types.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { eventually } from '../../support/raw-peer.js';
import { testLogger } from '../../support/server.js';
import { createTestPki, type TestPki } from '../../support/tls-certificates.js';

const DEADLINE_MS = 500;
/** The first bytes of a TLS record carrying a ClientHello, and no more: a handshake that never finishes. */
const PARTIAL_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]);

/** Only the deadlines run here: nothing is ever adopted, so the handlers are never called. */
const unusedHandlers = {} as TransportHandlers;

describe('SocketListener with TLS: sockets in their handshake', { timeout: 30_000 }, () => {
  let pki: TestPki;
  let timers: ManualTimers;
  let listener: SocketListener<ListenedTransport>;
  let port = 0;
  const sockets: net.Socket[] = [];

  before(async () => {
    pki = await createTestPki();
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    listener?.stopAccepting();
    await pki.cleanup();
  });

  async function startListener(): Promise<void> {
    listener?.stopAccepting();
    timers = new ManualTimers();
    const tls = new TlsTerminator({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, mutual: false, compatibility: false, reloadIntervalMs: 60_000 }, timers, testLogger);
    listener = new SocketListener<ListenedTransport>(
      { host: '127.0.0.1', port: 0, unregisteredTimeoutMs: DEADLINE_MS, memberAddress: '127.0.0.1:8848', timers, logger: testLogger, tls },
      unusedHandlers,
      () => assert.fail('no socket finishes its handshake here'),
    );
    port = await listener.listen();
  }

  /** Connects, sends the start of a ClientHello, and resolves once the server side has the socket. */
  async function stuckInHandshake(): Promise<net.Socket> {
    const socket = net.connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(PARTIAL_CLIENT_HELLO);
    return socket;
  }

  const closed = (socket: net.Socket): Promise<void> => new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));

  it('closes a socket whose handshake does not finish once the deadline passes, and not before', async () => {
    await startListener();
    const socket = await stuckInHandshake();
    // The deadline is armed when the server accepts the socket: wait for that on the clock itself.
    await eventually(() => timers.pendingCount > 0, 5000, 'the handshake deadline armed');
    await timers.advance(DEADLINE_MS - 1);
    assert.equal(socket.closed, false, 'open before the deadline');
    await timers.advance(1);
    await closed(socket);
  });

  it('closes sockets still in their handshake when it stops accepting', async () => {
    await startListener();
    const socket = await stuckInHandshake();
    await eventually(() => timers.pendingCount > 0, 5000, 'the handshake deadline armed');
    listener.stopAccepting();
    await closed(socket);
  });
});

/**
 * TLS on the gRPC ports, terminated on our own sockets below both transports: TLS and plaintext
 * on one port (compatibility), TLS only, mutual TLS, and certificates reloaded without dropping
 * connections. Certificates are made by the test (openssl).
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { RpcClient, type ClientTlsOptions } from '../../../src/client/index.js';
import { decodePayload, encodePayload, GrpcPaths, request, type ResponseMessage } from '../../../src/protocol/index.js';
import type { ServerTlsOptions } from '../../../src/server/transport/tls-terminator.js';
import type { TransportKind } from '../../../src/server/transport/types.js';
import { eventually } from '../../support/raw-peer.js';
import { startTestServer, testLogger } from '../../support/server.js';
import { createTestPki, type TestPki } from '../../support/tls-certificates.js';

const pki: TestPki = await createTestPki();
after(() => pki.cleanup());

function serverTls(overrides: Partial<ServerTlsOptions> = {}): ServerTlsOptions {
  return { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile, mutual: false, compatibility: true, reloadIntervalMs: 60_000, ...overrides };
}

function newClient(port: number, clientTls?: ClientTlsOptions): RpcClient {
  return new RpcClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger, retryTimes: 1, ...(clientTls === undefined ? {} : { tls: clientTls }) });
}

/** A ServerCheckRequest on a raw HTTP/2 session: its answer names the connection id the server gave the socket. */
async function serverCheck(session: http2.ClientHttp2Session): Promise<ResponseMessage> {
  const message = encodePayload(request('ServerCheckRequest'), { clientIp: '127.0.0.1' });
  const framed = Buffer.alloc(5 + message.byteLength);
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  const stream = session.request({ ':method': 'POST', ':path': GrpcPaths.REQUEST, 'content-type': 'application/grpc', te: 'trailers' });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.end(framed);
  await new Promise((resolve) => stream.on('close', resolve));
  const reply = decodePayload(Buffer.concat(chunks).subarray(5));
  assert.equal(reply.kind, 'response');
  return reply as ResponseMessage;
}

async function connectTls(sdkPort: number): Promise<http2.ClientHttp2Session> {
  const ca = await readFile(pki.ca.certFile);
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${sdkPort}`, { ca });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** The serial number of the certificate a new TLS connection to the port is shown. */
async function servedSerial(port: number): Promise<string> {
  const ca = await readFile(pki.ca.certFile);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

for (const transport of ['grpc-js', 'http2'] as const satisfies readonly TransportKind[]) {
  describe(`TLS on the gRPC ports: ${transport}`, { timeout: 60_000 }, () => {
    const clients: RpcClient[] = [];
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      await Promise.all(clients.map((c) => c.shutdown()));
      for (const close of closers) await close();
    });
    const track = (client: RpcClient): RpcClient => {
      clients.push(client);
      return client;
    };

    it('compatibility mode: a TLS client and a plaintext client at once on one port, each with its own identity', async () => {
      const { server, port, sdkPort } = await startTestServer({ transport, tls: serverTls() });
      closers.push(() => server.close());
      const secure = track(newClient(port, { caFile: pki.ca.certFile }));
      const plain = track(newClient(port));
      await Promise.all([secure.start(), plain.start()]);
      const labels = new Map(server.connections().map((c) => [c.connectionId, c.labels['tls.enable']]));
      assert.equal(labels.get(secure.connectionId!), 'true');
      assert.equal(labels.get(plain.connectionId!), 'false');
      // The server's own record, whatever the labels say.
      const encrypted = new Map(server.connections().map((c) => [c.connectionId, c.tls]));
      assert.equal(encrypted.get(secure.connectionId!), true);
      assert.equal(encrypted.get(plain.connectionId!), false);

      // The id is the TCP peer's, under TLS as without; ALPN says h2.
      const session = await connectTls(sdkPort);
      try {
        assert.equal(session.alpnProtocol, 'h2');
        const check = await serverCheck(session);
        assert.match(String(check.body['connectionId']), new RegExp(`_127\\.0\\.0\\.1_${session.socket.localPort}_127\\.0\\.0\\.1:\\d+$`));
      } finally {
        session.destroy();
      }
    });

    it('compatibility off: a plaintext client gets a clear failure; TLS clients are served', async () => {
      const { server, port } = await startTestServer({ transport, tls: serverTls({ compatibility: false }) });
      closers.push(() => server.close());
      const secure = track(newClient(port, { caFile: pki.ca.certFile }));
      await secure.start();
      const plain = track(newClient(port));
      // GOAWAY INADEQUATE_SECURITY: grpc-js words it "Protocol not secure enough", not a bare reset.
      await assert.rejects(plain.start(), (error: Error) => /not secure enough/.test(String((error.cause as Error | undefined)?.message)));
      assert.equal((await secure.request(request('HealthCheckRequest'))).resultCode, 200);
    });

    it('mutual TLS: no client certificate, or one from another CA, is refused; the node keeps serving', async () => {
      const { server, port } = await startTestServer({ transport, tls: serverTls({ mutual: true, compatibility: false }) });
      closers.push(() => server.close());
      const good = track(newClient(port, { caFile: pki.ca.certFile, ...pki.client }));
      await good.start();
      const noCertificate = track(newClient(port, { caFile: pki.ca.certFile }));
      const otherCa = track(newClient(port, { caFile: pki.ca.certFile, ...pki.otherClient }));
      await assert.rejects(noCertificate.start());
      await assert.rejects(otherCa.start());
      assert.equal((await good.request(request('HealthCheckRequest'))).resultCode, 200);
      assert.deepEqual(
        server.connections().map((c) => c.connectionId),
        [good.connectionId],
      );
      const another = track(newClient(port, { caFile: pki.ca.certFile, ...pki.client }));
      await another.start();
    });

    it('a client that trusts another CA refuses the server; trustAll connects anyway', async () => {
      const { server, port } = await startTestServer({ transport, tls: serverTls() });
      closers.push(() => server.close());
      await assert.rejects(track(newClient(port, { caFile: pki.otherCa.certFile })).start());
      await track(newClient(port, { trustAll: true })).start();
    });

    it('a replaced certificate is served to new connections; connected clients stay connected', async () => {
      const files = { certFile: `${pki.dir}/reload-${transport}.crt`, keyFile: `${pki.dir}/reload-${transport}.key` };
      await copyFile(pki.server.certFile, files.certFile);
      await copyFile(pki.server.keyFile, files.keyFile);
      const { server, port, sdkPort } = await startTestServer({ transport, tls: serverTls({ ...files, reloadIntervalMs: 50 }) });
      closers.push(() => server.close());
      const before = await servedSerial(sdkPort);
      const client = track(newClient(port, { caFile: pki.ca.certFile }));
      await client.start();
      const connectionId = client.connectionId;

      const renewed = await pki.issue(pki.ca, `renewed-${transport}`, 'server');
      await copyFile(renewed.keyFile, files.keyFile);
      await copyFile(renewed.certFile, files.certFile);
      await eventually(async () => (await servedSerial(sdkPort)) !== before, 10_000, 'the new certificate to be served');

      assert.equal(client.connectionId, connectionId);
      assert.equal((await client.request(request('HealthCheckRequest'))).resultCode, 200);
      assert.deepEqual(server.connections().map((c) => c.connectionId), [connectionId]);
      await track(newClient(port, { caFile: pki.ca.certFile })).start();
    });
  });
}

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodePayload, encodePayload, request, response } from '../../src/protocol/index.js';
import { PayloadType } from '../support/payload-proto.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { startTestServer } from '../support/server.js';

function payload(type: string, json: string): Buffer {
  return Buffer.from(PayloadType.encode({ metadata: { type }, body: { value: Buffer.from(json) } }).finish());
}

describe('bad input never disturbs other connections', async () => {
  const { server, sdkPort, host } = await startTestServer({ setupTimeoutMs: 300, maxMessageBytes: 64 * 1024, maxOutboundBytes: 256 * 1024 });
  const peers: RawPeer[] = [];
  const peer = (): RawPeer => {
    const p = new RawPeer(host, sdkPort);
    peers.push(p);
    return p;
  };
  // A well-behaved bystander that must stay registered and healthy through every test.
  const bystander = peer();
  const bystanderId = await bystander.serverCheck();
  bystander.setup();
  await eventually(() => server.manager.checkValid(bystanderId));

  async function bystanderHealthy(): Promise<void> {
    assert.ok(server.manager.checkValid(bystanderId), 'bystander still registered');
    const reply = await bystander.unary(request('HealthCheckRequest'));
    assert.equal(reply.resultCode, 200);
  }

  after(async () => {
    for (const p of peers) p.close();
    await server.close();
  });

  it('two clients in one process get two connectionIds', async () => {
    const a = peer();
    const b = peer();
    const [idA, idB] = await Promise.all([a.serverCheck(), b.serverCheck()]);
    assert.notEqual(idA, idB);
    assert.equal(await a.serverCheck(), idA, 'every call on one transport shares its id');
  });

  it('malformed protobuf on a unary call gets 502', async () => {
    const reply = decodePayload(await peer().unaryRaw(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f])));
    assert.equal(reply.kind === 'response' && reply.errorCode, 502);
    await bystanderHealthy();
  });

  it('unknown type gets 302; broken JSON on a registered connection gets 502', async () => {
    const p = peer();
    const id = await p.register();
    const unknown = decodePayload(await p.unaryRaw(payload('NoSuchRequest', '{}')));
    assert.equal(unknown.kind === 'response' && unknown.errorCode, 302);
    const broken = decodePayload(await p.unaryRaw(payload('HealthCheckRequest', '{"headers":')));
    assert.equal(broken.kind === 'response' && broken.errorCode, 502);
    assert.ok(server.manager.checkValid(id), 'a bad request does not end the connection');
    await bystanderHealthy();
  });

  it('garbage, unknown types and a second setup on the stream are dropped; the stream stays', async () => {
    const p = peer();
    const id = await p.serverCheck();
    p.setup({ source: 'sdk', AppName: 'first' });
    await eventually(() => server.manager.checkValid(id));
    p.sendRaw(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f]));
    p.sendRaw(payload('NoSuchRequest', '{}'));
    p.sendRaw(payload('ConnectResetResponse', 'not json'));
    p.send(request('HealthCheckRequest'));
    p.setup({ source: 'sdk', AppName: 'second' });
    const answer = await server.push(id, request('ClientDetectionRequest'), 3000);
    assert.equal(answer.type, 'ClientDetectionResponse');
    assert.equal(server.connections().find((c) => c.connectionId === id)?.appName, 'first');
    await bystanderHealthy();
  });

  it('a unary message over the size limit is rejected; the connection survives', async () => {
    const p = peer();
    const id = await p.register();
    const big = encodePayload({ kind: 'request', type: 'HealthCheckRequest', headers: { pad: 'x'.repeat(100 * 1024) }, body: {} });
    await assert.rejects(p.unaryRaw(big), (e: { code?: number }) => e.code === 8 /* RESOURCE_EXHAUSTED */);
    assert.ok(server.manager.checkValid(id), 'server.manager.checkValid(id)');
    await bystanderHealthy();
  });

  it('a stream message over the size limit ends the stream and unregisters (decision 10.8)', async () => {
    const p = peer();
    const id = await p.register();
    p.send({ ...response('ConnectResetResponse'), message: 'x'.repeat(100 * 1024) });
    await eventually(() => !server.manager.checkValid(id), 5000, 'unregistration');
    await bystanderHealthy();
  });

  it('a stream that never sends setup is closed after the setup timeout', async () => {
    const p = peer();
    await p.serverCheck();
    p.openStream();
    await p.waitFor(() => p.streamEnded, 5000, 'stream closed by server');
    await bystanderHealthy();
  });

  it('a TCP connection that never registers (only ServerChecks) is closed after twice the setup timeout', async () => {
    const p = peer();
    const first = await p.serverCheck();
    await eventually(() => !p.transportOpen, 5000, 'the server closing the transport');
    const second = await p.serverCheck();
    assert.notEqual(second, first, 'the old transport was closed; the channel dialled a new one');
    await bystanderHealthy();
  });

  it('a second stream on a registered transport ending does not end the first', async () => {
    const p = peer();
    const id = await p.register();
    const stray = p.client.makeBidiStreamRequest('/BiRequestStream/requestBiStream', (b: Buffer) => b, (b: Buffer) => b);
    stray.on('error', () => undefined);
    stray.end();
    // A stream opened after the stray and never set up is ended by its setup timeout: by then the
    // stray's end and its setup timeout are both behind us.
    const probe = p.client.makeBidiStreamRequest('/BiRequestStream/requestBiStream', (b: Buffer) => b, (b: Buffer) => b);
    let probeEnded = false;
    probe.on('error', () => undefined).on('status', () => (probeEnded = true));
    await eventually(() => probeEnded, 5000, 'the probe stream ended by its setup timeout');
    assert.ok(server.manager.checkValid(id), 'the first stream stays registered');
    assert.equal((await p.unary(request('HealthCheckRequest'))).resultCode, 200);
  });

  it('a client that stops reading is closed once its outbound buffer passes the cap', async () => {
    const p = peer();
    const id = await p.serverCheck();
    p.autoAck = false;
    p.setup();
    await eventually(() => server.manager.checkValid(id));
    // Stop reading: the HTTP/2 window fills and pushes pile up on the server.
    const stalled = p as unknown as { stream: { pause(): void } };
    stalled.stream.pause();
    const pad = 'y'.repeat(32 * 1024);
    const pushes: Promise<unknown>[] = [];
    for (let i = 0; i < 40 && server.manager.checkValid(id); i++) {
      pushes.push(server.push(id, { ...request('ClientDetectionRequest'), headers: { pad } }, 10_000).catch((e: Error) => e));
      await new Promise((resolve) => setTimeout(resolve, 5)); // pacing, as pushes come in production: a reading client would keep up
    }
    await eventually(() => !server.manager.checkValid(id), 10_000, 'overflow close');
    const results = await Promise.all(pushes);
    assert.ok(results.every((r) => r instanceof Error), 'pending pushes of a closed connection fail');
    await bystanderHealthy();
  });
});

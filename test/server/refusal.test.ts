import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { request } from '../../src/protocol/index.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { startTestServer } from '../support/server.js';

describe('refusing SDK connections', () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('over the limit: ConnectResetRequest, then the connection is closed (decision 10.9)', async () => {
    const { server, sdkPort, host } = await startTestServer({ limitRule: parseLimitRule({ countLimit: 2 }) });
    cleanups.push(() => server.close());
    const peers = [0, 1, 2].map(() => new RawPeer(host, sdkPort));
    cleanups.push(() => peers.forEach((p) => p.close()));
    const ids: string[] = [];
    for (const p of peers.slice(0, 2)) {
      const id = await p.register();
      ids.push(id);
    }
    const refused = peers[2]!;
    const refusedId = await refused.serverCheck();
    refused.setup();
    await refused.waitFor(() => refused.pushesOf('ConnectResetRequest').length > 0, 5000, 'ConnectResetRequest');
    await refused.waitFor(() => refused.streamEnded, 5000, 'stream closed');
    assert.equal(refused.pushesOf('ConnectResetRequest').length, 2, 'one reset at once, one just before the close');
    assert.equal(server.manager.checkValid(refusedId), false);
    assert.equal(server.manager.count, 2);
    // A claimed source=cluster on the SDK port is just a label (decision 10.11): limited too.
    const claimer = new RawPeer(host, sdkPort);
    cleanups.push(() => claimer.close());
    const claimerId = await claimer.serverCheck();
    claimer.setup({ source: 'cluster' });
    await claimer.waitFor(() => claimer.pushesOf('ConnectResetRequest').length > 0, 5000, 'reset for claimer');
    assert.equal(server.manager.checkValid(claimerId), false);
    for (const id of ids) assert.ok(server.manager.checkValid(id), 'server.manager.checkValid(id)');
  });

  it('per client IP: the client-reported IP is what counts', async () => {
    const { server, sdkPort, host } = await startTestServer({ limitRule: parseLimitRule({ countLimitPerClientIpDefault: 1 }) });
    cleanups.push(() => server.close());
    const peers = [0, 1, 2].map(() => new RawPeer(host, sdkPort));
    cleanups.push(() => peers.forEach((p) => p.close()));
    const [a, b, c] = peers as [RawPeer, RawPeer, RawPeer];
    const idA = await a.serverCheck();
    a.setup({ source: 'sdk' }, { clientIp: '10.0.0.1' });
    await eventually(() => server.manager.checkValid(idA));
    await b.serverCheck();
    b.setup({ source: 'sdk' }, { clientIp: '10.0.0.1' });
    await b.waitFor(() => b.pushesOf('ConnectResetRequest').length > 0, 5000, 'reset');
    const idC = await c.serverCheck();
    c.setup({ source: 'sdk' }, { clientIp: '10.0.0.2' });
    await eventually(() => server.manager.checkValid(idC));
    assert.equal(server.manager.countForClientIp('10.0.0.1'), 1);
  });

  it('while starting: unary calls get 300 and SDK setups are refused; non-SDK setups are accepted', async () => {
    const { server, sdkPort, host } = await startTestServer({ start: false });
    cleanups.push(() => server.close());
    const sdk = new RawPeer(host, sdkPort);
    const other = new RawPeer(host, sdkPort);
    cleanups.push(() => (sdk.close(), other.close()));
    const check = await sdk.unary(request('ServerCheckRequest'));
    assert.equal(check.errorCode, 300);
    sdk.setup({ source: 'sdk' });
    await sdk.waitFor(() => sdk.pushesOf('ConnectResetRequest').length > 0, 5000, 'reset while starting');
    await sdk.waitFor(() => sdk.streamEnded, 5000, 'closed while starting');
    other.setup({ source: 'cluster' });
    await eventually(() => server.manager.count === 1, 5000, 'cluster-source setup accepted');
    await server.start();
    const fresh = new RawPeer(host, sdkPort);
    cleanups.push(() => fresh.close());
    const id = await fresh.register();
    assert.ok(server.manager.checkValid(id), 'an SDK setup is accepted once started');
  });

  it('clients held after the start (a service loading its data): the SDK port answers 300 and refuses SDK setups, the cluster port serves members, and the release lets clients in', async () => {
    let release!: () => void;
    const { server, sdkPort, host } = await startTestServer({ start: false });
    cleanups.push(() => server.close());
    server.holdClientsUntil(new Promise<void>((resolve) => (release = resolve)));
    await server.start();
    assert.deepEqual({ started: server.started, takesClients: server.takesClients }, { started: true, takesClients: false });

    const sdk = new RawPeer(host, sdkPort);
    const member = new RawPeer(host, server.ports.cluster);
    cleanups.push(() => (sdk.close(), member.close()));
    assert.equal((await sdk.unary(request('ServerCheckRequest'))).errorCode, 300);
    sdk.setup({ source: 'sdk' });
    await sdk.waitFor(() => sdk.pushesOf('ConnectResetRequest').length > 0 && sdk.streamEnded, 5000, 'the SDK setup refused and closed');
    await member.register({ source: 'cluster' });
    const load = await member.unary(request('ServerLoaderInfoRequest'));
    assert.equal((load.body['loaderMetrics'] as Record<string, string>)['starting'], 'true', 'a member is served on the cluster port, and told this one is starting');

    release();
    await eventually(() => server.takesClients, 5000, 'clients taken once the hold is released');
    assert.equal(server.loaderMetrics()['starting'], undefined);
    const fresh = new RawPeer(host, sdkPort);
    cleanups.push(() => fresh.close());
    assert.ok(server.manager.checkValid(await fresh.register()), 'an SDK setup is accepted once the hold is released');
  });

  it('shutdown tells connected SDK clients to go elsewhere, then closes', async () => {
    const { server, sdkPort, host } = await startTestServer();
    const p = new RawPeer(host, sdkPort);
    cleanups.push(() => p.close());
    const id = await p.register();
    await server.close();
    assert.equal(p.pushesOf('ConnectResetRequest').length, 1);
    await p.waitFor(() => p.streamEnded, 5000, 'closed on shutdown');
    assert.equal(server.manager.count, 0);
  });
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClientStatus, ConfigClient, NamingClient, RpcClient, type InstancesChangeEvent } from '../../src/client/index.js';
import { request } from '../../src/protocol/index.js';
import { NACOS_224, PeerServer, RNACOS, type PeerKind } from '../support/peer-server.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

/** Builds the server if needed and starts it on a free port. */
async function startPeer(kind: PeerKind): Promise<{ server: PeerServer; port: number }> {
  PeerServer.prepare(kind);
  const port = await findMainPort(['127.0.0.1', '0.0.0.0'], kind.offsets);
  const server = new PeerServer(kind, port);
  await server.start();
  return { server, port };
}

// Our client against real servers no one here wrote (npm run test:peers; slow first build).
for (const kind of [RNACOS, NACOS_224] satisfies PeerKind[]) {
  describe(`our client against ${kind.name}`, { timeout: 45 * 60_000 }, () => {
    let server: PeerServer | undefined;
    let client: RpcClient | undefined;
    after(async () => {
      await client?.shutdown();
      await server?.dispose();
    });

    it('connects, requests, and survives the server restarting', async () => {
      const started = await startPeer(kind);
      server = started.server;
      const port = started.port;
      const events: string[] = [];
      client = new RpcClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger, keepAliveMs: 1000, appName: 'peer-test' });
      client.on('connected', (id) => events.push(`connected ${id}`)).on('lost', () => events.push('lost'));
      await client.start();
      assert.equal(client.status, ClientStatus.RUNNING);
      const firstId = client.connectionId!;
      const reply = await client.request(request('HealthCheckRequest'));
      assert.equal(reply.type, 'HealthCheckResponse');
      assert.equal(reply.resultCode, 200);

      await server.stop();
      await eventually(() => client!.status !== ClientStatus.RUNNING || events.includes('lost'), 30_000, 'loss noticed');
      await server.start();
      await eventually(() => client!.status === ClientStatus.RUNNING && client!.connectionId !== firstId, 120_000, () => `reconnected (events ${events.join(', ')})`);
      const again = await client.request(request('HealthCheckRequest'));
      assert.equal(again.resultCode, 200);
    });
  });

  describe(`our NamingClient against ${kind.name}`, { timeout: 45 * 60_000 }, () => {
    let server: PeerServer | undefined;
    const clients: NamingClient[] = [];
    after(async () => {
      await Promise.all(clients.map((c) => c.shutdown()));
      await server?.dispose();
    });

    it('registers, discovers, hears pushes, and redoes both after the server restarts', async () => {
      const started = await startPeer(kind);
      server = started.server;
      const port = started.port;
      const naming = (): NamingClient => {
        const created = new NamingClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger, keepAliveMs: 1000, redoIntervalMs: 1000 });
        clients.push(created);
        return created;
      };
      const [publisher, subscriber, late] = [naming(), naming(), naming()];
      await Promise.all([publisher.start(), subscriber.start(), late.start()]);
      let latest: string[] = [];
      const listener = (event: InstancesChangeEvent): void => void (latest = event.instances.map((i) => `${i.ip}:${i.port}`).sort());

      await publisher.registerInstance('peer-orders', { ip: '10.0.0.5', port: 8080, metadata: { v: '1' } });
      await subscriber.subscribe('peer-orders', listener);
      await eventually(() => latest.includes('10.0.0.5:8080'), 30_000, () => `discovered: ${JSON.stringify(latest)}`);
      const queried = await subscriber.getAllInstances('peer-orders', { subscribe: false });
      assert.deepEqual(queried.map((i) => [i.ip, i.port, i.metadata['v']]), [['10.0.0.5', 8080, '1']]);

      await late.registerInstance('peer-orders', { ip: '10.0.0.6', port: 8080 });
      await eventually(() => latest.includes('10.0.0.6:8080'), 30_000, () => `pushed: ${JSON.stringify(latest)}`);
      await late.deregisterInstance('peer-orders');
      await eventually(() => !latest.includes('10.0.0.6:8080'), 30_000, () => `removal pushed: ${JSON.stringify(latest)}`);

      // A restarted server holds no ephemeral data: what it shows was registered again by redo.
      const firstId = publisher.rpcClient.connectionId;
      await server.stop();
      await server.start();
      await eventually(() => publisher.rpcClient.status === ClientStatus.RUNNING && publisher.rpcClient.connectionId !== firstId, 120_000, 'reconnected');
      await eventually(
        async () => (await late.getAllInstances('peer-orders', { subscribe: false }).catch(() => [])).some((i) => i.ip === '10.0.0.5'),
        60_000,
        'the registration redone',
      );
      // The subscription was redone too: a change after the restart reaches the listener.
      await late.registerInstance('peer-orders', { ip: '10.0.0.7', port: 8080 });
      await eventually(() => latest.includes('10.0.0.7:8080'), 60_000, () => `pushed after the restart: ${JSON.stringify(latest)}`);
    });
  });

  describe(`our ConfigClient against ${kind.name}`, { timeout: 45 * 60_000 }, () => {
    let server: PeerServer | undefined;
    const clients: ConfigClient[] = [];
    after(async () => {
      await Promise.all(clients.map((c) => c.shutdown()));
      await server?.dispose();
    });

    it('publishes, reads, and a listener on another connection is notified, before and after the server restarts', async () => {
      const started = await startPeer(kind);
      server = started.server;
      const config = (): ConfigClient => {
        const created = new ConfigClient({ serverAddresses: [`127.0.0.1:${started.port}`], logger: testLogger, keepAliveMs: 1000, syncIntervalMs: 1000 });
        clients.push(created);
        return created;
      };
      const [publisher, listener] = [config(), config()];
      await Promise.all([publisher.start(), listener.start()]);
      const heard: (string | undefined)[] = [];
      await listener.addListener('peer.properties', 'DEFAULT_GROUP', (change) => heard.push(change.content));

      await publisher.publishConfig('peer.properties', 'DEFAULT_GROUP', 'v=1');
      // Nacos answers reads from its dump of the database, written just after the publish.
      await eventually(async () => (await publisher.getConfig('peer.properties', 'DEFAULT_GROUP')) === 'v=1', 30_000, 'read back');
      await eventually(() => heard.includes('v=1'), 30_000, () => `notified: ${JSON.stringify(heard)}`);
      await publisher.publishConfig('peer.properties', 'DEFAULT_GROUP', 'v=2');
      await eventually(() => heard.includes('v=2'), 30_000, () => `notified again: ${JSON.stringify(heard)}`);

      const firstId = listener.rpcClient.connectionId;
      await server.stop();
      await server.start();
      await eventually(() => listener.rpcClient.status === ClientStatus.RUNNING && listener.rpcClient.connectionId !== firstId, 120_000, 'reconnected');
      await eventually(() => publisher.publishConfig('peer.properties', 'DEFAULT_GROUP', 'v=3').then(() => true, () => false), 60_000, 'published after the restart');
      await eventually(() => heard.includes('v=3'), 60_000, () => `notified after the restart: ${JSON.stringify(heard)}`);
      assert.equal(new Set(heard).size, heard.length, `no content twice: ${JSON.stringify(heard)}`);
    });
  });
}

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClientStatus, RpcClient } from '../../src/client/index.js';
import { request } from '../../src/protocol/index.js';
import { NACOS_224, PeerServer, RNACOS, type PeerKind } from '../support/peer-server.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

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
      PeerServer.prepare(kind);
      const port = await findMainPort(['127.0.0.1', '0.0.0.0'], kind.offsets);
      server = new PeerServer(kind, port);
      await server.start();
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
}

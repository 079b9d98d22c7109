/**
 * A node with TLS on its gRPC ports, from its config keys: the naming and config clients work
 * over TLS only, and unusable certificate files stop the start with a message naming the file.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigClient, NamingClient, type ClientTlsOptions } from '../../src/client/index.js';
import { startTestNode } from '../support/node.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';
import { createTestPki } from '../support/tls-certificates.js';

const pki = await createTestPki();
after(() => pki.cleanup());

describe('a node with TLS only on its gRPC ports', { timeout: 60_000 }, async () => {
  const node = await startTestNode({ tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, compatibility: false, reloadIntervalMs: 1000 } });
  const tls: ClientTlsOptions = { caFile: pki.ca.certFile };
  const address = `127.0.0.1:${node.config.port}`;
  const naming = new NamingClient({ serverAddresses: [address], logger: testLogger, tls });
  const config = new ConfigClient({ serverAddresses: [address], logger: testLogger, tls });
  after(async () => {
    await Promise.all([naming.shutdown(), config.shutdown()]);
    await node.dispose();
  });

  it('NamingClient registers and discovers, ConfigClient publishes and reads, both over TLS', async () => {
    await Promise.all([naming.start(), config.start()]);
    await naming.registerInstance('orders', { ip: '10.0.0.5', port: 8080 });
    await eventually(async () => (await naming.getAllInstances('orders', { subscribe: false })).length === 1, 10_000, 'the instance to be listed');
    await config.publishConfig('app.properties', 'DEFAULT_GROUP', 'a=1');
    assert.equal(await config.getConfig('app.properties', 'DEFAULT_GROUP'), 'a=1');
    const labels = node.server.connections().map((c) => c.labels['tls.enable']);
    assert.deepEqual(labels, ['true', 'true']);
  });
});

describe('a node whose TLS files cannot be used', () => {
  it('does not start, and the message names the file', async () => {
    const badKey = join(pki.dir, 'not-a-key.pem');
    await writeFile(badKey, 'not a key\n');
    await assert.rejects(
      startTestNode({ tls: { enabled: true, certFile: pki.server.certFile, keyFile: badKey } }),
      (error: Error) => error.message.includes(badKey) && (error as { code?: string }).code === 'TLS_FILES',
    );
    await assert.rejects(
      startTestNode({ tls: { enabled: true, certFile: join(pki.dir, 'missing.crt'), keyFile: badKey } }),
      (error: Error) => error.message.includes('missing.crt'),
    );
  });
});

/**
 * A node with TLS on its gRPC ports, from its config keys: the naming and config clients work
 * over TLS only; members that require client certificates reach each other with cluster.tls and
 * sync naming; unusable certificate files stop the start with a message naming the file.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigClient, NamingClient, type ClientTlsOptions } from '../../src/client/index.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
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

describe('two members that require client certificates, with TLS between them (cluster.tls)', { timeout: 60_000 }, async () => {
  const hosts = ['127.0.0.1', '127.0.0.2'];
  const port = await findMainPort(hosts);
  const members = hosts.map((h) => `${h}:${port}`).join(',');
  const nodes = await Promise.all(
    hosts.map((host) =>
      startTestNode({
        host,
        port,
        members,
        tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile, mutual: true, compatibility: false },
        cluster: { tls: { enabled: true, caFile: pki.ca.certFile, ...pki.client } },
        naming: { sync: { debounceMs: 20 } },
      }),
    ),
  );
  const naming = new NamingClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger, tls: { caFile: pki.ca.certFile, ...pki.client } });
  after(async () => {
    await naming.shutdown();
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  it("are up to each other, read each other's load (what balancing runs on), and an instance registered on one is listed on the other", async () => {
    await eventually(() => nodes.every((n) => n.members.upOthers().length === 1), 30_000, 'members up over mutual TLS');
    for (const node of nodes) assert.equal((await node.cluster.load()).metricsCount, 2);
    await naming.start();
    await naming.registerInstance('synced', { ip: '10.0.0.7', port: 8080 });
    await eventually(
      () => nodes[1]!.naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'synced' }, { healthyOnly: false }).hosts.length === 1,
      20_000,
      'the instance synced to the other member',
    );
  });
});

/** GET over HTTPS (trusting the test CA) or plain HTTP: the status and the certificate serial shown. */
function get(url: string, ca?: Buffer): Promise<{ status: number; serial?: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? https : http).get(url, { ...(ca === undefined ? {} : { ca }), agent: false }, (response) => {
      const socket = response.socket as TLSSocket;
      const serial = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().serialNumber : undefined;
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, ...(serial === undefined ? {} : { serial }) }));
    });
    request.once('error', reject);
  });
}

describe('a node serving HTTPS on its main port, with a plaintext loopback listener', { timeout: 60_000 }, async () => {
  const files = { certFile: join(pki.dir, 'https.crt'), keyFile: join(pki.dir, 'https.key') };
  await copyFile(pki.server.certFile, files.certFile);
  await copyFile(pki.server.keyFile, files.keyFile);
  const loopbackPort = await findMainPort(['127.0.0.1'], [0]);
  const node = await startTestNode({ tls: { enabled: true, ...files, https: true, plaintextLoopbackPort: loopbackPort, reloadIntervalMs: 50 } });
  const ca = await readFile(pki.ca.certFile);
  const readiness = '/nacos/v1/console/health/readiness';
  after(() => node.dispose());

  it('answers over HTTPS, not over plaintext HTTP on the main port, and in plaintext on the loopback port', async () => {
    assert.equal((await get(`https://127.0.0.1:${node.config.port}${readiness}`, ca)).status, 200);
    await assert.rejects(get(`http://127.0.0.1:${node.config.port}${readiness}`));
    assert.equal((await get(`http://127.0.0.1:${loopbackPort}${readiness}`)).status, 200);
  });

  it('serves a replaced certificate to new HTTPS connections', async () => {
    const before = (await get(`https://127.0.0.1:${node.config.port}${readiness}`, ca)).serial;
    const renewed = await pki.issue(pki.ca, 'https-renewed', 'server');
    await copyFile(renewed.keyFile, files.keyFile);
    await copyFile(renewed.certFile, files.certFile);
    await eventually(async () => (await get(`https://127.0.0.1:${node.config.port}${readiness}`, ca)).serial !== before, 10_000, 'the new certificate on HTTPS');
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
    await assert.rejects(
      startTestNode({ cluster: { tls: { enabled: true, caFile: join(pki.dir, 'missing-ca.crt') } } }),
      (error: Error) => error.message.includes('missing-ca.crt'),
    );
  });
});

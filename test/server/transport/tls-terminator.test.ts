/**
 * TlsTerminator alone, on a bare net.Server, its polling driven by a manual clock: which
 * certificate new connections are shown as the files change, and what a bad file does.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { TlsTerminator } from '../../../src/server/transport/tls-terminator.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { eventually } from '../../support/raw-peer.js';
import { testLogger } from '../../support/server.js';
import { createTestPki, type CertificateFiles, type TestPki } from '../../support/tls-certificates.js';

const RELOAD_MS = 1000;

describe('TlsTerminator: certificate reload', () => {
  let pki: TestPki;
  let renewed: CertificateFiles;
  let files: CertificateFiles;
  let timers: ManualTimers;
  let terminator: TlsTerminator;
  let server: net.Server;
  let port = 0;
  /** Sockets handed on after their handshake, by the terminator. */
  const handedOn: net.Socket[] = [];

  before(async () => {
    pki = await createTestPki();
    renewed = await pki.issue(pki.ca, 'renewed', 'server');
    files = { certFile: `${pki.dir}/live.crt`, keyFile: `${pki.dir}/live.key` };
  });
  after(() => pki.cleanup());

  beforeEach(async () => {
    await copyFile(pki.server.certFile, files.certFile);
    await copyFile(pki.server.keyFile, files.keyFile);
    timers = new ManualTimers();
    terminator?.stop();
    terminator = new TlsTerminator({ ...files, mutual: false, compatibility: true, reloadIntervalMs: RELOAD_MS }, timers, testLogger);
    terminator.start();
    server?.close();
    for (const socket of handedOn.splice(0)) socket.destroy();
    server = net.createServer((raw) => terminator.accept(raw, 'test', (socket) => handedOn.push(socket)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    // Undefined when no test ran (a name filter).
    terminator?.stop();
    server?.close();
    for (const socket of handedOn) socket.destroy();
  });

  async function connect(): Promise<tls.TLSSocket> {
    const ca = await readFile(pki.ca.certFile);
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] }, () => resolve(socket));
      socket.once('error', reject);
    });
  }

  async function servedSerial(): Promise<string> {
    const socket = await connect();
    const serial = socket.getPeerCertificate().serialNumber;
    socket.destroy();
    return serial;
  }

  async function serialOf(certFile: string): Promise<string> {
    return new crypto.X509Certificate(await readFile(certFile)).serialNumber;
  }

  async function replaceWith(source: CertificateFiles): Promise<void> {
    await copyFile(source.keyFile, files.keyFile);
    await copyFile(source.certFile, files.certFile);
  }

  it('serves a replaced certificate to new connections after the next poll; a connection made before stays open', async () => {
    const early = await connect();
    assert.equal(early.getPeerCertificate().serialNumber, await serialOf(pki.server.certFile));
    await replaceWith(renewed);
    assert.equal(await servedSerial(), await serialOf(pki.server.certFile), 'not before the poll');
    await timers.advance(RELOAD_MS);
    assert.equal(await servedSerial(), await serialOf(renewed.certFile));
    assert.equal(early.destroyed, false);
    early.write('still open');
    early.destroy();
  });

  it('keeps the current certificate while the files do not load, and takes them once they do', async () => {
    await writeFile(files.keyFile, 'half-written key\n');
    await timers.advance(RELOAD_MS);
    assert.equal(await servedSerial(), await serialOf(pki.server.certFile));
    await replaceWith(renewed);
    await timers.advance(RELOAD_MS);
    assert.equal(await servedSerial(), await serialOf(renewed.certFile));
  });

  it('never polls with reloadIntervalMs 0: the files are read once, as Nacos', async () => {
    terminator.stop();
    const once = new TlsTerminator({ ...files, mutual: false, compatibility: true, reloadIntervalMs: 0 }, timers, testLogger);
    once.start();
    assert.equal(timers.pendingCount, 0);
    once.stop();
  });

  it('polls no more once stopped', async () => {
    terminator.stop();
    await replaceWith(renewed);
    await timers.advance(10 * RELOAD_MS);
    assert.equal(await servedSerial(), await serialOf(pki.server.certFile));
  });
});

describe('TlsTerminator: one terminator behind two listeners', () => {
  let pki: TestPki;
  let terminator: TlsTerminator;
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];

  before(async () => {
    pki = await createTestPki();
    terminator = new TlsTerminator(
      { certFile: pki.server.certFile, keyFile: pki.server.keyFile, mutual: false, compatibility: true, reloadIntervalMs: RELOAD_MS },
      new ManualTimers(),
      testLogger,
    );
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) server.close();
    await pki.cleanup();
  });

  /** A listener that hands each socket on with the listener it came in on. */
  async function listener(handedOn: (listenerPort: number, socket: net.Socket) => void): Promise<number> {
    const server = net.createServer((raw) => terminator.accept(raw, 'test', (socket) => handedOn(port, socket)));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    return port;
  }

  async function dial(port: number, localPort?: number): Promise<net.Socket> {
    const raw = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', ...(localPort === undefined ? {} : { localPort }) });
    sockets.push(raw);
    await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
    return raw;
  }

  it('hands each handshake to the listener it came in on when one source address and port dials both at once', async () => {
    const handed: { listenerPort: number; localPort: number | undefined }[] = [];
    const record = (listenerPort: number, socket: net.Socket): void => {
      sockets.push(socket);
      handed.push({ listenerPort, localPort: socket.localPort });
    };
    const sdkPort = await listener(record);
    const clusterPort = await listener(record);
    // Linux reuses an ephemeral port across destinations, and a client may bind its own.
    const toSdk = await dial(sdkPort);
    const toCluster = await dial(clusterPort, toSdk.localPort);
    const ca = await readFile(pki.ca.certFile);
    const handshake = (socket: net.Socket): Promise<void> =>
      new Promise((resolve, reject) => {
        const secured = tls.connect({ socket, ca, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, resolve);
        sockets.push(secured);
        secured.once('error', reject);
      });
    await Promise.all([handshake(toSdk), handshake(toCluster)]);
    await eventually(() => handed.length === 2, 10_000, () => `both sockets handed on: ${JSON.stringify(handed)}`);
    assert.deepEqual(
      handed.map((h) => h.listenerPort === h.localPort).sort(),
      [true, true],
      `each socket arrives at its own listener: ${JSON.stringify(handed)}`,
    );
  });
});

describe('TlsTerminator: settings that do not do what they seem to', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());

  /** The warnings logged when a terminator is made with these settings. */
  function warningsFor(settings: { mutual: boolean; compatibility: boolean; caFile?: string }): string[] {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line).msg as string) });
    new TlsTerminator({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, reloadIntervalMs: RELOAD_MS, ...settings }, new ManualTimers(), logger);
    return lines;
  }

  it('warns at start of mutual TLS with compatibility on, and of a CA file without mutual TLS; not of the settings that work', () => {
    assert.match(warningsFor({ mutual: true, compatibility: true, caFile: pki.ca.certFile }).join('\n'), /plaintext clients still connect without a certificate/);
    assert.match(warningsFor({ mutual: false, compatibility: false, caFile: pki.ca.certFile }).join('\n'), /caFile is set but mutual is off/);
    assert.deepEqual(warningsFor({ mutual: true, compatibility: false, caFile: pki.ca.certFile }), []);
    assert.deepEqual(warningsFor({ mutual: false, compatibility: true }), []);
  });
});

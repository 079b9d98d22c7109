import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A key and the certificate for it, as PEM files. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A test CA: its certificate file, and the key that signs the certificates it issues. */
export interface TestCa extends CertificateFiles {
  readonly name: string;
}

/**
 * Test certificates made with the `openssl` CLI in a temp dir (never committed): a CA, a server
 * certificate for 127.0.0.1–3 and localhost (Java checks the IP it dialled, grpc-go ignores a
 * name override), a client certificate, and a second CA with its own client certificate.
 */
export interface TestPki {
  readonly dir: string;
  readonly ca: TestCa;
  readonly server: CertificateFiles;
  readonly client: CertificateFiles;
  readonly otherCa: TestCa;
  /** Signed by otherCa: a mutual-TLS node must refuse it. */
  readonly otherClient: CertificateFiles;
  /** Issues another certificate (EC P-256, valid 2 days) into the dir. */
  issue(ca: TestCa, name: string, role: 'server' | 'client'): Promise<CertificateFiles>;
  cleanup(): Promise<void>;
}

const SERVER_NAMES = 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:localhost';

function newKeyArgs(keyFile: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile];
}

async function makeCa(dir: string, name: string): Promise<TestCa> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await run('openssl', [
    'req', '-x509', ...newKeyArgs(keyFile), '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { name, keyFile, certFile };
}

async function issueCertificate(dir: string, ca: TestCa, name: string, role: 'server' | 'client'): Promise<CertificateFiles> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const requestFile = join(dir, `${name}.csr`);
  const extensionsFile = join(dir, `${name}.ext`);
  await run('openssl', ['req', ...newKeyArgs(keyFile), '-out', requestFile, '-subj', `/CN=${name}`]);
  const extensions = role === 'server' ? [SERVER_NAMES, 'extendedKeyUsage=serverAuth'] : ['extendedKeyUsage=clientAuth'];
  await writeFile(extensionsFile, `${['basicConstraints=CA:FALSE', ...extensions].join('\n')}\n`);
  await run('openssl', [
    'x509', '-req', '-in', requestFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(randomInt(1, 2 ** 47)),
    '-out', certFile, '-days', '2', '-extfile', extensionsFile,
  ]);
  return { certFile, keyFile };
}

/** Makes the test PKI in a fresh temp dir; call cleanup() in after(). */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'nacos-tls-'));
  const [ca, otherCa] = await Promise.all([makeCa(dir, 'test-ca'), makeCa(dir, 'other-ca')]);
  const [server, client, otherClient] = await Promise.all([
    issueCertificate(dir, ca, 'server', 'server'),
    issueCertificate(dir, ca, 'client', 'client'),
    issueCertificate(dir, otherCa, 'other-client', 'client'),
  ]);
  return {
    dir,
    ca,
    server,
    client,
    otherCa,
    otherClient,
    issue: (issuer, name, role) => issueCertificate(dir, issuer, name, role),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

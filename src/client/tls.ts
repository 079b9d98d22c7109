import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { caBundleProblem } from '../protocol/index.js';
import { InvalidClientOptionError } from './errors.js';

/**
 * TLS to the server's gRPC port, as Java's `nacos.remote.client.rpc.tls.*` (docs/security.md).
 * Files are read, and the credentials built, once, when the client is made.
 */
export interface ClientTlsOptions {
  /** PEM CA certificates the server's certificate is checked against (Java: `trustCollectionChainPath`); default Node's bundled roots. */
  readonly caFile?: string;
  /** PEM client certificate chain, for a server that requires one (Java: `certChainFile`, with `mutualAuth`). */
  readonly certFile?: string;
  /** PEM private key of `certFile` (Java: `certPrivateKey`). */
  readonly keyFile?: string;
  /** The name checked in the server's certificate instead of the dialled address. */
  readonly serverName?: string;
  /** Accept any server certificate (Java: `trustAll`): encrypts, but proves nothing about the server. */
  readonly trustAll?: boolean;
}

/**
 * How a connection dials: credentials and the channel options they need. Built once by
 * {@link channelSecurity}; many clients may share one (a node's member clients do).
 */
export interface ChannelSecurity {
  /** Whether TLS is on: Java sends it as the `tls.enable` label. */
  readonly tls: boolean;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
}

const PLAINTEXT: ChannelSecurity = {
  tls: false,
  credentials: grpc.credentials.createInsecure(),
  channelOptions: {},
};

function readPem(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InvalidClientOptionError(option, `cannot read ${path}: ${(error as Error).message}`);
  }
}

function readCaBundle(path: string): Buffer {
  const pem = readPem('tls.caFile', path);
  const problem = caBundleProblem(pem);
  if (problem !== undefined) throw new InvalidClientOptionError('tls.caFile', `${path} is not a CA bundle: ${problem}`);
  return pem;
}

/**
 * Reads the files, checks the options go together and builds the credentials, so a file that
 * cannot work fails here rather than on every connection attempt.
 * @throws InvalidClientOptionError naming the option whose file cannot be read or used (a CA file
 * with no certificate, a key that does not match its certificate), or a certificate without its key
 */
export function channelSecurity(options: ClientTlsOptions | undefined): ChannelSecurity {
  if (options === undefined) return PLAINTEXT;
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new InvalidClientOptionError('tls.certFile', 'a client certificate and its key (tls.keyFile) go together');
  }
  const ca = options.caFile === undefined ? null : readCaBundle(options.caFile);
  const cert = options.certFile === undefined ? null : readPem('tls.certFile', options.certFile);
  const key = options.keyFile === undefined ? null : readPem('tls.keyFile', options.keyFile);
  const verify: grpc.VerifyOptions = options.trustAll === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  let credentials: grpc.ChannelCredentials;
  try {
    credentials = grpc.credentials.createSsl(ca, key, cert, verify);
  } catch (error) {
    const files = [options.caFile, options.certFile, options.keyFile].filter((file) => file !== undefined).join(', ');
    throw new InvalidClientOptionError('tls', `${files} do not make usable TLS credentials: ${(error as Error).message}`);
  }
  return {
    tls: true,
    credentials,
    channelOptions: options.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': options.serverName, 'grpc.default_authority': options.serverName },
  };
}

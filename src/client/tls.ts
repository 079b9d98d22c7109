import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { InvalidClientOptionError } from './errors.js';

/**
 * TLS to the server's gRPC port, as Java's `nacos.remote.client.rpc.tls.*` (docs/security.md).
 * Files are read once, when the client is made.
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

/** How a connection dials: credentials and the channel options they need. */
export interface ChannelSecurity {
  /** Whether TLS is on: Java sends it as the `tls.enable` label. */
  readonly tls: boolean;
  credentials(): grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
}

export const PLAINTEXT: ChannelSecurity = {
  tls: false,
  credentials: () => grpc.credentials.createInsecure(),
  channelOptions: {},
};

function readPem(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InvalidClientOptionError(option, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Reads the files and checks the options go together.
 * @throws InvalidClientOptionError naming the option whose file cannot be read, or a certificate without its key
 */
export function channelSecurity(options: ClientTlsOptions | undefined): ChannelSecurity {
  if (options === undefined) return PLAINTEXT;
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new InvalidClientOptionError('tls.certFile', 'a client certificate and its key (tls.keyFile) go together');
  }
  const ca = options.caFile === undefined ? null : readPem('tls.caFile', options.caFile);
  const cert = options.certFile === undefined ? null : readPem('tls.certFile', options.certFile);
  const key = options.keyFile === undefined ? null : readPem('tls.keyFile', options.keyFile);
  const verify: grpc.VerifyOptions = options.trustAll === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  return {
    tls: true,
    credentials: () => grpc.credentials.createSsl(ca, key, cert, verify),
    channelOptions: options.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': options.serverName, 'grpc.default_authority': options.serverName },
  };
}

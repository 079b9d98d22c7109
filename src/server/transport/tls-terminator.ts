import { readFileSync, statSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { caBundleProblem, ErrorCode, NacosRemoteError, type Timers } from '../../protocol/index.js';

/** TLS on the gRPC ports, as Nacos 2.2.4's `nacos.remote.server.rpc.tls.*` (docs/security.md). */
export interface ServerTlsOptions {
  /** PEM certificate chain the node presents (Nacos: `certChainFile`). */
  readonly certFile: string;
  /** PEM private key of that certificate (Nacos: `certPrivateKey`). */
  readonly keyFile: string;
  /** PEM CA bundle client certificates are checked against (Nacos: `trustCollectionCertFile`). */
  readonly caFile?: string;
  /** Require a client certificate signed by `caFile` (Nacos: `mutualAuthEnable`). */
  readonly mutual: boolean;
  /** Serve TLS and plaintext on the same port, told apart by the first byte (Nacos: `compatibility`, default true). */
  readonly compatibility: boolean;
  /** How often the files' modification times are checked; a change swaps the certificate for new connections. 0: never (read once, as Nacos). */
  readonly reloadIntervalMs: number;
}

/** The node's current TLS certificate, for another listener that serves it (HTTPS on the main port). */
export interface TlsCertificateSource {
  /** The certificate, key and CA now in use (PEM contents). */
  readonly secureContextOptions: tls.SecureContextOptions;
  /** Calls `listener` with the new contents each time the files are reloaded; returns its removal. */
  onReload(listener: (options: tls.SecureContextOptions) => void): () => void;
}

/** The certificate, key or CA file cannot be read or does not make a usable TLS context. */
export class TlsFilesError extends NacosRemoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TLS_FILES', ErrorCode.SERVER_ERROR, message, options);
  }
}

/** The first byte of a TLS record carrying a handshake (ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * What a plaintext HTTP/2 client is told on a TLS-only port: the server preface (empty SETTINGS)
 * and GOAWAY INADEQUATE_SECURITY with a reason, so its error says why instead of "connection reset".
 */
const TLS_REQUIRED_GOAWAY = ((): Buffer => {
  const reason = Buffer.from('this port requires TLS');
  const settings = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
  const header = Buffer.alloc(9 + 8);
  header.writeUIntBE(8 + reason.length, 0, 3);
  header[3] = 0x7; // GOAWAY
  header.writeUInt32BE(0, 5); // stream 0
  header.writeUInt32BE(0, 9); // last stream id
  header.writeUInt32BE(0xc, 13); // INADEQUATE_SECURITY
  return Buffer.concat([settings, header, reason]);
})();

interface FileStamp {
  readonly path: string;
  readonly mtimeMs: number;
  readonly size: number;
}

/** A socket in its handshake: what to do with it once the handshake succeeds. */
interface PendingHandshake {
  readonly connectionId: string;
  readonly ready: (socket: net.Socket) => void;
}

/** A TCP connection's two ends: unique among open connections, whichever port it came in on. */
function socketKey(socket: net.Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}>${socket.localAddress}:${socket.localPort}`;
}

function unreadable(path: string, error: unknown): TlsFilesError {
  return new TlsFilesError(`cannot read TLS file ${path}: ${(error as Error).message}`, { cause: error });
}

/**
 * TLS for one node's gRPC listeners, terminated on our own sockets below the gRPC transport: it
 * looks at each connection's first byte, runs the handshake (ALPN `h2`, optionally requiring a
 * client certificate), and hands the decrypted socket on; with compatibility on, plaintext
 * connections are handed on as they are. The files are polled, and a change applies to new
 * connections only: live ones keep the context they were made with.
 */
export class TlsTerminator implements TlsCertificateSource {
  /**
   * Never listens: it is Node's handshake machinery (client-certificate verdict, secureConnection),
   * fed the sockets our listener accepted.
   */
  private readonly handshaker: tls.Server;
  /**
   * Sockets in their handshake, by both ends' address and port, with what to do once it succeeds.
   * Both ends: one terminator serves both gRPC ports, and one source address and port may be
   * connected to both at once (ephemeral ports are reused across destinations; a client may bind one).
   */
  private readonly pending = new Map<string, PendingHandshake>();
  private stamps: readonly FileStamp[];
  private contextOptions: tls.SecureContextOptions;
  /** Told of every new context (the HTTPS listener serves the same certificate). */
  private readonly reloadListeners = new Set<(options: tls.SecureContextOptions) => void>();
  private cancelPoll: (() => void) | undefined;
  private stopped = false;

  /** @throws TlsFilesError when a file cannot be read or the pair does not make a context */
  constructor(
    private readonly options: ServerTlsOptions,
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {
    this.stamps = this.stampFiles();
    this.contextOptions = this.loadContextOptions();
    this.warnOfIneffectiveSettings();
    this.handshaker = tls.createServer({
      ...this.contextOptions,
      ALPNProtocols: ['h2'],
      requestCert: options.mutual,
      rejectUnauthorized: options.mutual,
    });
    this.handshaker.on('secureConnection', (socket: tls.TLSSocket) => {
      const waiting = this.takePending(socket);
      if (waiting === undefined) socket.destroy();
      else waiting.ready(socket);
    });
    this.handshaker.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      const waiting = this.takePending(socket);
      const refusal = socket.authorizationError === undefined ? {} : { clientCertificate: String(socket.authorizationError) };
      // Debug: any peer can cause one, as often as it likes.
      this.logger.debug({ err: error, connectionId: waiting?.connectionId, ...refusal }, 'TLS handshake failed');
      socket.destroy();
    });
  }

  /**
   * Settings that start but do not do what they seem to, said once at start (Nacos accepts them
   * silently): mutual TLS with plaintext still let in, and a CA file nothing checks against.
   */
  private warnOfIneffectiveSettings(): void {
    const { mutual, compatibility, caFile } = this.options;
    if (mutual && compatibility) {
      this.logger.warn('TLS mutual is on but compatibility is too: plaintext clients still connect without a certificate; set compatibility false to require one');
    }
    if (!mutual && caFile !== undefined) {
      this.logger.warn({ caFile }, 'TLS caFile is set but mutual is off: client certificates are not asked for, and the file is unused');
    }
  }

  /** Starts polling the files for changes (every reloadIntervalMs). */
  start(): void {
    this.stopped = false;
    this.schedulePoll();
  }

  /** The certificate, key and CA now in use (PEM contents). */
  get secureContextOptions(): tls.SecureContextOptions {
    return this.contextOptions;
  }

  /** Calls `listener` with the new contents each time the files are reloaded; returns its removal. */
  onReload(listener: (options: tls.SecureContextOptions) => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }

  /**
   * Checks the files once: when any changed, builds a new context for new connections. A file
   * mid-write or a bad pair keeps the old context (and is tried again next time).
   * @returns whether the context was replaced
   */
  private reloadIfChanged(): boolean {
    let stamps: readonly FileStamp[];
    try {
      stamps = this.stampFiles();
    } catch (error) {
      this.logger.warn({ err: error }, 'TLS files unreadable; keeping the current certificate');
      return false;
    }
    if (stamps.every((stamp, i) => stamp.mtimeMs === this.stamps[i]?.mtimeMs && stamp.size === this.stamps[i]?.size)) return false;
    try {
      this.contextOptions = this.loadContextOptions();
    } catch (error) {
      this.logger.warn({ err: error }, 'TLS files changed but do not load; keeping the current certificate');
      return false;
    }
    this.handshaker.setSecureContext(this.contextOptions);
    for (const listener of this.reloadListeners) listener(this.contextOptions);
    this.stamps = stamps;
    this.logger.info({ certFile: this.options.certFile }, 'TLS certificate reloaded; new connections use it');
    return true;
  }

  /**
   * Takes a freshly accepted socket: calls `ready` with the socket to speak HTTP/2 on (a
   * TLSSocket after its handshake, or the raw socket for plaintext in compatibility mode), or
   * destroys the socket (a failed handshake, plaintext on a TLS-only port). The caller keeps its
   * own deadline on the raw socket.
   */
  accept(raw: net.Socket, connectionId: string, ready: (socket: net.Socket) => void): void {
    raw.once('data', (first: Buffer) => {
      raw.pause();
      raw.unshift(first);
      if (first[0] === TLS_HANDSHAKE_RECORD) {
        const key = socketKey(raw);
        const waiting = { connectionId, ready };
        this.pending.set(key, waiting);
        raw.once('close', () => {
          if (this.pending.get(key) === waiting) this.pending.delete(key);
        });
        this.handshaker.emit('connection', raw);
      } else if (this.options.compatibility) {
        ready(raw);
      } else {
        this.logger.debug({ connectionId }, 'plaintext connection refused: this port requires TLS (compatibility off)');
        raw.write(TLS_REQUIRED_GOAWAY);
        raw.destroySoon();
      }
    });
  }

  private takePending(socket: tls.TLSSocket): PendingHandshake | undefined {
    const key = socketKey(socket);
    const waiting = this.pending.get(key);
    this.pending.delete(key);
    return waiting;
  }

  private schedulePoll(): void {
    // 0: read once, at start, as Nacos.
    if (this.stopped || this.options.reloadIntervalMs === 0) return;
    this.cancelPoll = this.timers.setTimeout(() => {
      this.reloadIfChanged();
      this.schedulePoll();
    }, this.options.reloadIntervalMs);
  }

  private files(): string[] {
    const { certFile, keyFile, caFile } = this.options;
    return caFile === undefined ? [certFile, keyFile] : [certFile, keyFile, caFile];
  }

  private stampFiles(): FileStamp[] {
    return this.files().map((path) => {
      try {
        const stat = statSync(path);
        return { path, mtimeMs: stat.mtimeMs, size: stat.size };
      } catch (error) {
        throw unreadable(path, error);
      }
    });
  }

  /** The files' contents, checked by building a context from them (and the CA file by parsing it). */
  private loadContextOptions(): tls.SecureContextOptions {
    const { certFile, keyFile, caFile } = this.options;
    const read = (path: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (error) {
        throw unreadable(path, error);
      }
    };
    const ca = caFile === undefined ? undefined : read(caFile);
    // A CA file with no certificate in it makes a context, and then refuses every client certificate.
    const caProblem = ca === undefined ? undefined : caBundleProblem(ca);
    if (caProblem !== undefined) throw new TlsFilesError(`TLS CA file ${caFile} is not a CA bundle: ${caProblem}`);
    const contextOptions = { cert: read(certFile), key: read(keyFile), ...(ca === undefined ? {} : { ca }) };
    try {
      tls.createSecureContext(contextOptions);
    } catch (error) {
      throw new TlsFilesError(`TLS certificate ${certFile} and key ${keyFile} do not make a usable context: ${(error as Error).message}`, { cause: error });
    }
    return contextOptions;
  }
}

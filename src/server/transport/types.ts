/**
 * The seam between the connection layer and the gRPC wiring: acceptors, the connection manager
 * and pushes see only these two interfaces, so they are tested without sockets.
 */

/** One accepted TCP (HTTP/2) connection. Every call on it shares its id (spec 5.2). */
export interface Transport {
  /** `<ms>_<remoteIp>_<remotePort>_<memberAddress>`, the remote address normalised (address.ts). */
  readonly id: string;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Whether it arrived over TLS (the node's own terminator), not plaintext. */
  readonly encrypted: boolean;
  /** Which listener accepted it: the SDK port or the cluster port. */
  readonly port: 'sdk' | 'cluster';
  readonly closed: boolean;
  /** Closes the TCP connection after what was written has had a chance to leave. */
  close(): void;
}

/** The server side of one bi-stream. */
export interface StreamSink {
  /**
   * Queues one encoded Payload; `onFlushed` runs once it has left our buffers. The bytes must not
   * change once written: the same push is written to many streams, and may be framed once for all.
   */
  write(bytes: Uint8Array, onFlushed: (error?: Error | null) => void): void;
  /** Completes the server side of the stream (once). */
  end(): void;
  readonly ended: boolean;
}

/** Why a stream ended, as the transport saw it (these strings also label metrics). */
export const StreamEnd = {
  ENDED_BY_CLIENT: 'stream ended by client',
  CANCELLED: 'stream cancelled',
  ERROR: 'stream error',
} as const;
export type StreamEndReason = (typeof StreamEnd)[keyof typeof StreamEnd];

/** Handlers for one accepted bi-stream. */
export interface StreamSession {
  onMessage(bytes: Uint8Array): void;
  /** The client ended its side, the stream errored, or the call was cancelled. */
  onEnd(reason: StreamEndReason): void;
}

/** What a transport hands accepted calls to (the same for every transport). */
export interface TransportHandlers {
  /** The reply, at once when it is ready at once (no promise per call then). */
  unary(bytes: Uint8Array, transport: Transport): Uint8Array | Promise<Uint8Array>;
  openStream(transport: Transport, sink: StreamSink): StreamSession;
  /** The TCP connection is gone (socket close, client crash, keepalive failure). */
  transportClosed(transport: Transport): void;
  /** Whether a connection is registered on this transport. */
  registered(transport: Transport): boolean;
}

/** Which implementation serves a gRPC port. */
export const TRANSPORT_KINDS = ['grpc-js', 'http2'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];
/** The transport a node uses unless configured otherwise (CI also runs a lane on the other one). */
export const DEFAULT_TRANSPORT: TransportKind = 'http2';

/** One gRPC listener (the SDK port or the cluster port), whichever implementation serves it. */
export interface ServerTransport {
  /** Binds the port; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting new TCP connections; existing ones stay. */
  stopAccepting(): void;
  /** Closes the listener and every connection. Idempotent. */
  close(): Promise<void>;
}

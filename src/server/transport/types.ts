/**
 * The seam between the connection layer and the gRPC wiring: acceptors, the connection manager
 * and pushes see only these two interfaces, so they are tested without sockets.
 */

/** One accepted TCP (HTTP/2) connection. Every call on it shares its id (spec 5.2). */
export interface Transport {
  /** `<ms>_<ip>_<port>` with the remote address normalised. */
  readonly id: string;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Which listener accepted it: the SDK port or the cluster port. */
  readonly port: 'sdk' | 'cluster';
  readonly closed: boolean;
  /** Closes the TCP connection after what was written has had a chance to leave. */
  close(): void;
}

/** The server side of one bi-stream. */
export interface StreamSink {
  /** Queues one encoded Payload; `onFlushed` runs once it has left our buffers. */
  write(bytes: Uint8Array, onFlushed: (error?: Error | null) => void): void;
  /** Completes the server side of the stream (once). */
  end(): void;
  readonly ended: boolean;
}

import type { Message, RequestMessage, ResponseMessage } from '../protocol/index.js';
import type { ServerAddress } from './server-list.js';

/**
 * One connection to one server as the RpcClient sees it: unary calls and the bi-stream on the
 * same transport. The gRPC implementation is GrpcConnection; tests use fakes.
 */
export interface ClientConnection {
  readonly server: ServerAddress;
  /** `ip:mainPort`. */
  readonly address: string;
  /** From ServerCheckResponse. */
  connectionId: string;
  /** Set when the client moved away on purpose, so the stream's end is not a loss. */
  abandoned: boolean;
  readonly closed: boolean;
  /**
   * Resolves with whatever response the server sent (ErrorResponse included); an answer that
   * cannot be decoded rejects with an UnusableResponseError, a failed call with anything else.
   */
  request(message: RequestMessage, timeoutMs: number): Promise<ResponseMessage>;
  openStream(onMessage: (message: Message) => void, onEnd: (reason: string) => void): void;
  /** Writes on the bi-stream (setup, answers to pushes). */
  send(message: Message): void;
  /** Ends the stream, lets in-flight calls finish (up to graceMs), then closes the transport. */
  close(graceMs?: number): Promise<void>;
}

/** Creates (does not yet use) a connection to a server. */
export type ConnectionFactory = (server: ServerAddress) => ClientConnection;

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  decodePayload,
  encodePayload,
  ErrorCode,
  GrpcPaths,
  isBeyondTimers,
  NacosRemoteError,
  RequestTimeoutError,
  ConnectionClosedError,
  type Message,
  type MessageRegistry,
  type RequestMessage,
  type ResponseMessage,
} from '../protocol/index.js';
import { decodeResponse } from './decode-response.js';
import { formatAddress, type ServerAddress } from './server-list.js';
import type { ChannelSecurity } from './tls.js';
import type { ClientConnection } from './transport.js';

const identity = (b: Buffer): Buffer => b;

/** A unary call not yet settled: what its timeout or the connection's close ends. */
interface InFlightCall {
  /** Settles the request with the error and cancels the call; nothing once it is settled. */
  readonly fail: (error: NacosRemoteError) => void;
}

export interface GrpcConnectionOptions {
  readonly server: ServerAddress;
  readonly grpcPortOffset: number;
  readonly maxMessageBytes: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly clientIp: string;
  readonly registry: MessageRegistry;
  readonly logger: Logger;
  /** Plaintext or TLS, and how. */
  readonly security: ChannelSecurity;
}

/**
 * One connection to one server: its own HTTP/2 connection (a local subchannel pool, so clients in
 * one process never share a transport and a connectionId), unary calls and the bi-stream on it.
 */
export class GrpcConnection implements ClientConnection {
  readonly server: ServerAddress;
  connectionId = '';
  private readonly client: grpc.Client;
  private stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  private readonly inFlight = new Set<InFlightCall>();
  private idleWaiters: (() => void)[] = [];
  private closedFlag = false;
  /** Set when the client moved away on purpose, so the stream's end is not a loss. */
  abandoned = false;

  constructor(private readonly options: GrpcConnectionOptions) {
    this.server = options.server;
    this.client = new grpc.Client(`${hostForTarget(options.server.ip)}:${options.server.port + options.grpcPortOffset}`, options.security.credentials, {
      ...options.security.channelOptions,
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
      // No transparent call retries: a failed call is reported, and RpcClient decides (spec 4.6).
      // (The channel may still redial a dropped transport; the server then answers 301.)
      'grpc.enable_retries': 0,
    });
  }

  get address(): string {
    return formatAddress(this.server);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sends a unary request; resolves with whatever response the server sent (ErrorResponse
   * included). An answer that cannot be decoded rejects with an UnusableResponseError.
   */
  request(message: RequestMessage, timeoutMs: number): Promise<ResponseMessage> {
    if (this.closedFlag) return Promise.reject(new ConnectionClosedError(`connection to ${this.address} is closed`));
    const bytes = encodePayload(message, { clientIp: this.options.clientIp, registry: this.options.registry });
    return new Promise<ResponseMessage>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let call: grpc.ClientUnaryCall | undefined;
      // The first of answer, timeout and close settles the request: it leaves the calls in flight.
      const settle = (): boolean => {
        if (!this.inFlight.delete(inFlight)) return false;
        clearTimeout(timer);
        this.callDone();
        return true;
      };
      const inFlight: InFlightCall = {
        fail: (error) => {
          if (!settle()) return;
          call?.cancel();
          reject(error);
        },
      };
      this.inFlight.add(inFlight);
      try {
        call = this.client.makeUnaryRequest(
          GrpcPaths.REQUEST,
          identity,
          identity,
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          new grpc.Metadata(),
          (error, reply) => {
            // Cancelled by its timeout or a close, or answered first (the timeout's turn then finds it settled).
            if (!settle()) return;
            if (error) {
              reject(new NacosRemoteError('TRANSPORT_ERROR', ErrorCode.SERVER_ERROR, `${message.type} failed: ${error.details || error.message}`, { cause: error }));
              return;
            }
            try {
              resolve(decodeResponse(reply!, this.options.registry, message.type));
            } catch (decodeError) {
              reject(decodeError);
            }
          },
        );
      } catch (error) {
        // Thrown before a call started: no timer is set yet.
        inFlight.fail(new NacosRemoteError('TRANSPORT_ERROR', ErrorCode.SERVER_ERROR, `${message.type} failed: ${(error as Error).message}`, { cause: error }));
        return;
      }
      // No gRPC deadline (Java sends none either): grpc-js would end the call from a timer, and a
      // process that stalled (its own work, or a busy machine) runs its due timers before it reads
      // its sockets, so an answer already there would count as a timeout, and a health check as a
      // dead server. The timeout waits one turn of I/O, which reads what has arrived.
      // 0 or less means none (as RpcClient and Java read it), and so does one past what a timer holds.
      if (timeoutMs > 0 && !isBeyondTimers(timeoutMs)) {
        timer = setTimeout(() => setImmediate(() => inFlight.fail(new RequestTimeoutError(`${message.type} timed out after ${timeoutMs} ms`))), timeoutMs);
      }
    });
  }

  /** Opens the bi-stream on this same transport; pushes and the stream's end go to the callbacks. */
  openStream(onMessage: (message: Message) => void, onEnd: (reason: string) => void): void {
    const stream = this.client.makeBidiStreamRequest(GrpcPaths.BI_STREAM, identity, identity);
    this.stream = stream;
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      onEnd(reason);
    };
    stream.on('data', (bytes: Buffer) => {
      let message: Message;
      try {
        message = decodePayload(bytes, this.options.registry);
      } catch (error) {
        this.options.logger.warn({ err: error, server: this.address }, 'undecodable message from server ignored');
        return;
      }
      onMessage(message);
    });
    stream.on('error', (error: Error) => end(`stream error: ${error.message}`));
    stream.on('end', () => end('stream ended by server'));
    stream.on('close', () => end('stream closed'));
  }

  /** Writes a message on the bi-stream (setup, or the answer to a push). */
  send(message: Message): void {
    if (this.stream === undefined || this.closedFlag) return;
    const bytes = encodePayload(message, {
      ...(message.kind === 'request' ? { clientIp: this.options.clientIp } : {}),
      registry: this.options.registry,
    });
    this.stream.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /**
   * Ends the stream, lets in-flight unary calls finish (up to `graceMs`), then cancels those still
   * unanswered (they reject with a ConnectionClosedError) and closes the transport. Idempotent.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    try {
      this.stream?.end();
    } catch {
      // the stream is already gone
    }
    if (this.inFlight.size > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // grpc-js's close lets started calls run on, and their timers would keep the process up to their timeouts.
    for (const call of [...this.inFlight]) call.fail(new ConnectionClosedError(`connection to ${this.address} closed before the answer`));
    this.stream?.cancel();
    this.client.close();
  }

  /** A call left the calls in flight: those waiting for none are told when it was the last. */
  private callDone(): void {
    if (this.inFlight.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** grpc-js targets need IPv6 in brackets. */
function hostForTarget(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

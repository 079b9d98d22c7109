import type { Logger } from 'pino';
import {
  decodeEnvelope,
  decodeMessage,
  encodePayload,
  ErrorCode,
  errorResponse,
  NacosRemoteError,
  response,
  type Envelope,
  type MessageRegistry,
  type ResponseMessage,
} from '../../protocol/index.js';
import type { ConnectionManager } from '../connection-manager.js';
import type { HandlerRegistry } from '../handlers/index.js';
import type { Transport } from '../transport/types.js';

export interface UnaryAcceptorDeps {
  /** Whether calls on this listener are served (before, every call gets 300). */
  readonly isStarted: (port: Transport['port']) => boolean;
  readonly manager: ConnectionManager;
  readonly handlers: HandlerRegistry;
  readonly registry: MessageRegistry;
  readonly logger: Logger;
  /** Observes every reply (type and code), e.g. for metrics. */
  readonly onReply?: (type: string, reply: ResponseMessage, elapsedMs: number) => void;
}

/** Replies declared constant: the acceptor encodes each once (freezing is shallow, so it proves nothing). */
const CONSTANT_REPLIES = new WeakSet<ResponseMessage>();

/**
 * Declares `reply` a constant: the same answer every time, body included, never to change. The
 * acceptor encodes it once and sends those bytes to every caller. Returns it frozen.
 */
export function constantReply<R extends ResponseMessage>(reply: R): Readonly<R> {
  CONSTANT_REPLIES.add(reply);
  return Object.freeze(reply);
}

// The refusals' answers are constants.
const STARTING = constantReply(errorResponse(ErrorCode.INVALID_SERVER_STATUS, 'Server is starting,please try later.'));
const NO_HANDLER = constantReply(errorResponse(ErrorCode.NO_HANDLER, 'RequestHandler Not Found'));
const UNREGISTERED = constantReply(errorResponse(ErrorCode.UN_REGISTER, 'Connection is unregistered.'));

/**
 * The unary `Request/request` acceptor with Nacos's check order and codes (spec 5.3):
 * not started 300 → ServerCheck → no handler 302 → unregistered 301 → bad payload 502 →
 * handler (failure 500, or the error's own code). Every path answers exactly once, in the payload.
 */
export class UnaryAcceptor {
  /** The encoding of each constant reply (constantReply), made once: it depends on the registry. */
  private readonly constantReplies = new WeakMap<ResponseMessage, Uint8Array>();

  constructor(private readonly deps: UnaryAcceptorDeps) {}

  /**
   * Answers one request. Synchronous when its handler is (ServerCheck, HealthCheck, refusals):
   * a promise per call costs a measurable share of the unary path.
   */
  handle(bytes: Uint8Array, transport: Transport): Uint8Array | Promise<Uint8Array> {
    const started = performance.now();
    let type = '';
    let reply: ResponseMessage | Promise<ResponseMessage>;
    try {
      const envelope = decodeEnvelope(bytes);
      type = envelope.type;
      reply = this.dispatch(envelope, transport);
    } catch (error) {
      // Only decodeEnvelope can throw here: dispatch turns handler failures into replies.
      reply = errorResponse(ErrorCode.BAD_GATEWAY, NacosRemoteError.from(error).message);
    }
    return reply instanceof Promise ? reply.then((settled) => this.encode(type, settled, started)) : this.encode(type, reply, started);
  }

  /**
   * A constant reply (HealthCheck's answer, the refusals) is encoded once and its bytes shared,
   * since transports only copy them out.
   */
  private encode(type: string, reply: ResponseMessage, started: number): Uint8Array {
    this.deps.onReply?.(type, reply, performance.now() - started);
    if (!CONSTANT_REPLIES.has(reply)) return encodePayload(reply, { registry: this.deps.registry });
    let bytes = this.constantReplies.get(reply);
    if (bytes === undefined) {
      bytes = encodePayload(reply, { registry: this.deps.registry });
      this.constantReplies.set(reply, bytes);
    }
    return bytes;
  }

  private dispatch(envelope: Envelope, transport: Transport): ResponseMessage | Promise<ResponseMessage> {
    const { manager, handlers, logger } = this.deps;
    if (manager.traced(envelope.clientIp)) {
      logger.info({ connectionId: transport.id, type: envelope.type, body: Buffer.from(envelope.body).toString('utf8') }, 'traced request');
    }
    if (!this.deps.isStarted(transport.port)) {
      return STARTING;
    }
    if (envelope.type === 'ServerCheckRequest') {
      return response('ServerCheckResponse', { connectionId: transport.id });
    }
    const handler = handlers.get(envelope.type);
    if (handler === undefined) return NO_HANDLER;
    const connection = manager.get(transport.id);
    if (connection === undefined) return UNREGISTERED;

    let message;
    try {
      message = decodeMessage(envelope, this.deps.registry);
    } catch (error) {
      return errorResponse(ErrorCode.BAD_GATEWAY, NacosRemoteError.from(error).message);
    }
    if (message.kind !== 'request') return errorResponse(ErrorCode.BAD_GATEWAY, 'Invalid request');

    connection.freshActiveTime();
    const { meta } = connection;
    let answer: ResponseMessage | Promise<ResponseMessage>;
    try {
      answer = handler(message, {
        connectionId: meta.connectionId,
        clientIp: meta.clientIp,
        clientVersion: meta.version,
        labels: meta.labels,
        connection,
      });
    } catch (error) {
      return this.failed(error, envelope.type, transport.id);
    }
    // The closure only where a handler is async: the synchronous path allocates none.
    return answer instanceof Promise ? answer.catch((error: unknown) => this.failed(error, envelope.type, transport.id)) : answer;
  }

  /** A handler's failure as its answer: the error's own code, or 500 (logged) for an unexpected one. */
  private failed(error: unknown, type: string, connectionId: string): ResponseMessage {
    const nacosError = NacosRemoteError.from(error);
    if (!(error instanceof NacosRemoteError)) {
      this.deps.logger.error({ err: error, type, connectionId }, 'request handler failed');
    }
    return errorResponse(nacosError.errorCode, nacosError.message);
  }
}

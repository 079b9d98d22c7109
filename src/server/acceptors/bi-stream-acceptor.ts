import type { Logger } from 'pino';
import {
  decodeEnvelope,
  decodeMessage,
  isRequestOf,
  request,
  type Headers,
  type KnownRequest,
  type Message,
  type MessageRegistry,
  type Timers,
} from '../../protocol/index.js';
import { Connection, isClusterSource, isSdkSource, type ConnectionMeta, type PushOptions } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';
import { splitRedirect, UnregisterReason } from '../connection-manager.js';
import type { StreamSession, StreamSink, Transport } from '../transport/types.js';

export interface BiStreamAcceptorDeps {
  readonly manager: ConnectionManager;
  readonly registry: MessageRegistry;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly push: Omit<PushOptions, 'onOverflow' | 'timers' | 'registry'>;
  /**
   * Whether the node takes SDK clients: it has started (spec 5.11) and no hold keeps them away
   * (a restarted member loading the others' naming data); SDK setups are refused until then.
   */
  readonly takesSdkClients: () => boolean;
  /** Whether the node refuses every new SDK setup (draining or closing). */
  readonly isRefusingSetups: () => boolean;
  /** Where a refused client should go (another member's `ip:port`), if anywhere. */
  readonly refusalRedirect: () => string | undefined;
  /** Whether a peer on the cluster port is a member, by its address or setup headers (decision 10.11). */
  readonly isTrustedMember: (ip: string, headers: Headers) => boolean;
  /** A stream that sends no ConnectionSetupRequest in this time is closed. */
  readonly setupTimeoutMs: number;
  /** How long a refused connection stays open before the second reset and the close. */
  readonly refusalCloseDelayMs: number;
  /** Observes each setup: registered or refused, and the time from receipt to listeners told. */
  readonly onSetup?: (outcome: 'registered' | 'refused', elapsedMs: number, reason?: string) => void;
}

/**
 * The `BiRequestStream/requestBiStream` acceptor (spec 5.4): the first ConnectionSetupRequest
 * registers the connection (or is refused with a ConnectResetRequest and a close), responses
 * settle pending pushes, and the stream's end unregisters the connection (decision 10.8).
 */
export class BiStreamAcceptor {
  constructor(private readonly deps: BiStreamAcceptorDeps) {}

  open(transport: Transport, sink: StreamSink): StreamSession {
    const { deps } = this;
    const log = deps.logger.child({ connectionId: transport.id });
    let connection: Connection | undefined;
    let ended = false;
    // Another stream on the same transport may have registered: then only this stream ends.
    const closeStream = () => {
      sink.end();
      if (!deps.manager.checkValid(transport.id)) transport.close();
    };
    const cancelSetupTimer = deps.timers.setTimeout(() => {
      if (connection === undefined && !ended) {
        log.warn({ timeoutMs: deps.setupTimeoutMs }, 'no ConnectionSetupRequest in time; closing');
        closeStream();
      }
    }, deps.setupTimeoutMs);

    const setup = (message: KnownRequest<'ConnectionSetupRequest'>, clientIp: string, received: number): void => {
      if (connection !== undefined || deps.manager.checkValid(transport.id)) {
        log.warn('second ConnectionSetupRequest on this connection ignored');
        return;
      }
      cancelSetupTimer();
      const candidate = new Connection(buildMeta(transport, message, clientIp, deps), transport, sink, {
        ...deps.push,
        registry: deps.registry,
        timers: deps.timers,
        onOverflow: (c) => {
          log.warn('outbound buffer over its cap (client not reading); closing');
          if (!deps.manager.unregister(c.id, UnregisterReason.OUTBOUND_OVERFLOW)) c.close();
        },
      });
      const refusal = this.refusalReason(candidate);
      if (refusal === undefined) {
        connection = candidate;
        deps.onSetup?.('registered', performance.now() - received);
        return;
      }
      const redirect = deps.refusalRedirect();
      log.info(
        { clientIp: candidate.meta.clientIp, appName: candidate.meta.appName, reason: refusal, redirect },
        'connection refused',
      );
      // Decision 10.9 refined: Java 2.2.4 and Go ignore a reset until they are RUNNING (about
      // 100 ms after their setup), and a Go client whose transport is simply closed re-dials it
      // and sits on an unregistered connection that its health check deems healthy. So: one
      // reset now, another once they act on it, then the close. Acks are not awaited.
      const reset = request('ConnectResetRequest', splitRedirect(redirect));
      candidate.sendWithoutAck(reset);
      if (deps.refusalCloseDelayMs <= 0) candidate.close();
      else {
        deps.timers.setTimeout(() => {
          candidate.sendWithoutAck(reset);
          candidate.close();
        }, deps.refusalCloseDelayMs);
      }
      deps.onSetup?.('refused', performance.now() - received, refusal);
    };

    return {
      onMessage(bytes) {
        const received = performance.now();
        let message: Message;
        let clientIp: string;
        try {
          const envelope = decodeEnvelope(bytes);
          clientIp = envelope.clientIp;
          message = decodeMessage(envelope, deps.registry);
        } catch (error) {
          log.warn({ err: error }, 'undecodable message on stream dropped');
          return;
        }
        if (connection?.traced) log.info({ type: message.type, message }, 'traced stream message');
        if (message.kind === 'response') {
          if (connection === undefined || !connection.acknowledge(message)) {
            log.debug({ type: message.type, requestId: message.requestId }, 'ack for no pending push dropped');
          }
          connection?.freshActiveTime();
          return;
        }
        if (isRequestOf(message, 'ConnectionSetupRequest')) setup(message, clientIp, received);
        else log.warn({ type: message.type }, 'unknown payload on stream ignored');
      },
      onEnd(reason) {
        if (ended) return;
        ended = true;
        cancelSetupTimer();
        // Only this stream's own connection: a stray second stream must not end the first.
        if (connection !== undefined && deps.manager.get(connection.id) === connection) {
          deps.manager.unregister(connection.id, reason);
        } else {
          closeStream();
        }
      },
    };
  }

  private refusalReason(candidate: Connection): string | undefined {
    const { deps } = this;
    if (isSdkSource(candidate.meta.labels)) {
      if (!deps.takesSdkClients()) return 'starting';
      if (deps.isRefusingSetups()) return 'draining';
    }
    const result = deps.manager.register(candidate);
    return result.ok ? undefined : result.reason;
  }
}

function buildMeta(
  transport: Transport,
  message: KnownRequest<'ConnectionSetupRequest'>,
  clientIp: string,
  deps: BiStreamAcceptorDeps,
): ConnectionMeta {
  const { labels, clientVersion, tenant, abilities } = message.body;
  return {
    connectionId: transport.id,
    connectType: 'GRPC',
    clientIp: clientIp || transport.remoteIp,
    remoteIp: transport.remoteIp,
    remotePort: transport.remotePort,
    localPort: transport.localPort,
    tls: transport.encrypted,
    version: clientVersion,
    appName: labels['AppName'] ?? '-',
    tenant: tenant ?? '',
    labels: { ...labels },
    ...(abilities === undefined ? {} : { abilities }),
    createTime: deps.timers.now(),
    trustedCluster: transport.port === 'cluster' && isClusterSource(labels) && deps.isTrustedMember(transport.remoteIp, message.headers),
  };
}

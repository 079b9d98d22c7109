import {
  decodeEnvelope,
  decodeMessage,
  NacosRemoteError,
  type Envelope,
  type MessageRegistry,
  type ResponseMessage,
} from '../protocol/index.js';
import { InvalidResponseError, UnknownResponseTypeError } from './errors.js';

/**
 * Decodes the answer to a unary request. Every failure is an {@link UnusableResponseError}, so the
 * caller can tell a bad answer (never resent) from a failed call (retried, spec 4.6).
 * @throws UnknownResponseTypeError, InvalidResponseError
 */
export function decodeResponse(bytes: Uint8Array, registry: MessageRegistry, requestType: string): ResponseMessage {
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(bytes);
  } catch (error) {
    throw new InvalidResponseError(requestType, NacosRemoteError.from(error).message, { cause: error });
  }
  if (!registry.has(envelope.type)) throw new UnknownResponseTypeError(requestType, envelope.type);
  let message;
  try {
    message = decodeMessage(envelope, registry);
  } catch (error) {
    throw new InvalidResponseError(requestType, NacosRemoteError.from(error).message, { cause: error });
  }
  if (message.kind !== 'response') throw new InvalidResponseError(requestType, `${message.type} is a request`);
  return message;
}

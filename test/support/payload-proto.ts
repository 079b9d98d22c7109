import protobuf from 'protobufjs';
import { NACOS_GRPC_PROTO } from '../../src/protocol/proto.js';

/**
 * protobufjs's reading of Nacos's proto: the tests' reference encoder and decoder for what the
 * hand-written Payload reader and writer do (production code does not load protobufjs).
 */
const root = protobuf.parse(NACOS_GRPC_PROTO, { keepCase: true }).root;

/** The protobufjs type for `Payload`. */
export const PayloadType = root.lookupType('Payload');

/** The decoded protobuf shape of a Payload. */
export interface PayloadProto {
  metadata?: { type?: string; clientIp?: string; headers?: Record<string, string> } | null;
  body?: { type_url?: string; value?: Uint8Array } | null;
}

import protobuf from 'protobufjs';

/**
 * Nacos's `nacos_grpc_service.proto`, field numbers as in 2.2.4. No package statement, so the
 * services are plain `Request` and `BiRequestStream`. `Any` is declared locally: only its two
 * fields matter, and nobody sets or reads `type_url`.
 */
export const NACOS_GRPC_PROTO = `
syntax = "proto3";

message Any {
  string type_url = 1;
  bytes value = 2;
}

message Metadata {
  string type = 3;
  string clientIp = 8;
  map<string, string> headers = 7;
}

message Payload {
  Metadata metadata = 2;
  Any body = 3;
}

service Request {
  rpc request (Payload) returns (Payload);
}

service BiRequestStream {
  rpc requestBiStream (stream Payload) returns (stream Payload);
}
`;

const root = protobuf.parse(NACOS_GRPC_PROTO, { keepCase: true }).root;

/** The protobufjs type for `Payload`. */
export const PayloadType = root.lookupType('Payload');

/** The decoded protobuf shape of a Payload. */
export interface PayloadProto {
  metadata?: { type?: string; clientIp?: string; headers?: Record<string, string> } | null;
  body?: { type_url?: string; value?: Uint8Array } | null;
}

/**
 * The Payload's field keys on the wire (field number << 3 | wire type 2, length-delimited): every
 * field we read or write is a string, bytes or message. The hand-written reader and writer use them.
 */
export const PayloadKey = {
  METADATA: (2 << 3) | 2,
  BODY: (3 << 3) | 2,
  METADATA_TYPE: (3 << 3) | 2,
  METADATA_HEADERS: (7 << 3) | 2,
  METADATA_CLIENT_IP: (8 << 3) | 2,
  ANY_VALUE: (2 << 3) | 2,
  ENTRY_KEY: (1 << 3) | 2,
  ENTRY_VALUE: (2 << 3) | 2,
} as const;

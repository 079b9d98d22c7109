/**
 * Nacos's `nacos_grpc_service.proto`, field numbers as in 2.2.4. Production code reads and writes
 * Payloads by hand (payload-reader.ts, payload-writer.ts) with the keys below; the text is for
 * tools and for the tests' protobufjs reference (test/support/payload-proto.ts). No package
 * statement, so the services are plain `Request` and `BiRequestStream`. `Any` is declared
 * locally: only its two fields matter, and nobody sets or reads `type_url`.
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

/** The single table from domain error codes to gRPC status codes, and the status an error answers with. */
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { ErrorCode, InferenceError } from '../errors';

const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  NOT_FOUND: status.NOT_FOUND,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  UNAVAILABLE: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  CANCELLED: status.CANCELLED,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
};

/** With the `u` flag a surrogate pair is one code point, so this matches only lone halves. */
const LONE_SURROGATE = /\p{Surrogate}/gu;

/**
 * The status `error` answers a unary call with. Messages quote what the client sent (a model
 * name); protobufjs decodes some malformed UTF-8 into a lone surrogate, on which grpc-js's
 * encodeURI of grpc-message throws, so each becomes U+FFFD, as Buffer's UTF-8 encoding would.
 */
export function errorStatus(error: InferenceError): Partial<StatusObject> {
  return { code: GRPC_STATUS[error.code], details: error.message.replace(LONE_SURROGATE, '\uFFFD'), metadata: new Metadata() };
}

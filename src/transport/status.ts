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
 * The most of a message that goes into grpc-message. It travels in the trailers, which HTTP/2
 * bounds: a message quoting 300 KB the client sent (a repository_name, a version, an input name)
 * never reached it, and the call hung until its deadline. Percent-encoded, 4096 characters stay
 * under 36 KiB.
 */
const MAX_DETAILS_CHARS = 4096;

/**
 * `text` fit for grpc-message: cut past MAX_DETAILS_CHARS, and each lone surrogate (protobufjs
 * decodes some malformed UTF-8 into one; grpc-js's encodeURI throws on it) made U+FFFD, as
 * Buffer's UTF-8 encoding would.
 */
export function statusDetails(text: string): string {
  const cut = text.length > MAX_DETAILS_CHARS ? `${text.slice(0, MAX_DETAILS_CHARS)}… (${text.length} characters in all)` : text;
  return cut.replace(LONE_SURROGATE, '\uFFFD');
}

/** The status `error` answers a unary call with; messages quote what the client sent. */
export function errorStatus(error: InferenceError): Partial<StatusObject> {
  return { code: GRPC_STATUS[error.code], details: statusDetails(error.message), metadata: new Metadata() };
}

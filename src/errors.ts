/**
 * The one error type the data plane raises. Each code maps to exactly one gRPC status
 * (see transport/status.ts), so a module never needs to know the transport.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'DEADLINE_EXCEEDED'
  | 'RESOURCE_EXHAUSTED'
  | 'CANCELLED'
  | 'UNIMPLEMENTED'
  | 'FAILED_PRECONDITION'
  /** An admin RPC without the bearer token it needs (transport/admin-guard.ts). */
  | 'UNAUTHENTICATED';

export class InferenceError extends Error {
  /**
   * @param logMessage what the server's log may keep: the message without values the client sent,
   *   where the message quotes one (logs never hold tensor contents).
   */
  constructor(readonly code: ErrorCode, message: string, readonly logMessage: string = message) {
    super(message);
    this.name = 'InferenceError';
  }
}

export const invalidArgument = (message: string): InferenceError => new InferenceError('INVALID_ARGUMENT', message);
export const notFound = (message: string): InferenceError => new InferenceError('NOT_FOUND', message);
export const unavailable = (message: string): InferenceError => new InferenceError('UNAVAILABLE', message);
export const failedPrecondition = (message: string): InferenceError => new InferenceError('FAILED_PRECONDITION', message);
export const internal = (message: string): InferenceError => new InferenceError('INTERNAL', message);

/** Anything thrown that is not already an InferenceError is a server fault. */
export function asInferenceError(err: unknown): InferenceError {
  if (err instanceof InferenceError) return err;
  return internal(err instanceof Error ? err.message : String(err));
}

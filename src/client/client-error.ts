import { status, type ServiceError } from '@grpc/grpc-js';

/** The one error the client throws: the gRPC status (number and name) and the server's message. */
export class InferenceClientError extends Error {
  override readonly name = 'InferenceClientError';
  readonly codeName: string;

  constructor(
    readonly code: status,
    readonly details: string,
    /** Attempts made before giving up (1 when nothing was retried). */
    readonly attempts = 1,
  ) {
    super(`${status[code] ?? code}: ${details}`);
    this.codeName = status[code] ?? String(code);
  }

  static from(err: unknown, attempts = 1): InferenceClientError {
    if (err instanceof InferenceClientError) return err;
    const service = err as Partial<ServiceError>;
    if (typeof service.code === 'number') return new InferenceClientError(service.code, service.details ?? service.message ?? '', attempts);
    return new InferenceClientError(status.INTERNAL, err instanceof Error ? err.message : String(err), attempts);
  }
}

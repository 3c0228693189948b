/** The single table from domain error codes to the `reason` label of Triton's nv_inference_request_failure. */
import type { ErrorCode } from '../../errors';

/** Triton's failure reasons (core's FailureReason), spelled as Triton labels them. */
export const FAILURE_REASONS = ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * REJECTED: the scheduler turned the request away (queue timeout or deadline, as in Triton, and a full queue).
 * CANCELED: the client cancelled it. BACKEND: the model's run failed (ONNX Runtime's error, or its
 * instance crashed, exited or closed under the batch). OTHER: refused before it was queued (an
 * invalid request); NOT_FOUND, UNIMPLEMENTED, FAILED_PRECONDITION and UNAUTHENTICATED never reach a version's statistics today.
 */
export const FAILURE_REASON: Readonly<Record<ErrorCode, FailureReason>> = {
  DEADLINE_EXCEEDED: 'REJECTED',
  RESOURCE_EXHAUSTED: 'REJECTED',
  CANCELLED: 'CANCELED',
  INTERNAL: 'BACKEND',
  UNAVAILABLE: 'BACKEND',
  INVALID_ARGUMENT: 'OTHER',
  NOT_FOUND: 'OTHER',
  UNIMPLEMENTED: 'OTHER',
  FAILED_PRECONDITION: 'OTHER',
  UNAUTHENTICATED: 'OTHER',
};

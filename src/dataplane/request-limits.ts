/**
 * The operator's bounds on what one inference request may carry, checked before it may queue,
 * beside validate-request: the message size bounds the bytes, these bound what a small message
 * can still make the server hold (many tiny BYTES elements) and any one BYTES element.
 */
import { invalidArgument } from '../errors';
import { elementCount, type Tensor } from '../tensor/tensor';

export interface RequestLimits {
  /** All inputs together; MAX_REQUEST_ELEMENTS. */
  readonly maxElements: number;
  /** BYTES elements of all inputs together, raw or typed; MAX_BYTES_ELEMENTS. The transport checks it before splitting them. */
  readonly maxBytesElements: number;
  /** The largest one BYTES element; MAX_BYTES_ELEMENT_BYTES. */
  readonly maxBytesElementBytes: number;
}

/**
 * INVALID_ARGUMENT rather than RESOURCE_EXHAUSTED: the same request would fail again, and
 * clients (ours included) retry RESOURCE_EXHAUSTED as a sign of load.
 */
export function checkRequestLimits(limits: RequestLimits, inputs: readonly Tensor[]): void {
  let total = 0;
  for (const tensor of inputs) {
    const count = elementCount(tensor.shape);
    total += count;
    if (total > limits.maxElements) {
      throw invalidArgument(
        `input '${tensor.name}' (${count} elements) brings the request to ${total} elements, over the server's limit of ${limits.maxElements} (MAX_REQUEST_ELEMENTS)`,
      );
    }
    if (tensor.datatype === 'BYTES') {
      const elements = tensor.data as readonly Uint8Array[];
      for (let i = 0; i < elements.length; i++) {
        if (elements[i].byteLength > limits.maxBytesElementBytes) {
          throw invalidArgument(
            `input '${tensor.name}': element ${i} holds ${elements[i].byteLength} bytes, over the server's limit of ${limits.maxBytesElementBytes} (MAX_BYTES_ELEMENT_BYTES)`,
          );
        }
      }
    }
  }
}

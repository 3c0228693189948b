/**
 * onnxruntime-node as every in-process user must load it. Where Float16Array exists (Node 24),
 * onnxruntime-common turns float16 data into one, and the 1.29 and 1.30 bindings then read its length as
 * 0 bytes ("not enough space: expected N, got 0"; microsoft/onnxruntime#32323). ORT looks for
 * Float16Array once, at the first Tensor, so hiding it here keeps float16 tensors as the
 * Uint16Array we send. Only threads that run ORT (session workers, tests, the bench) import this.
 */
import { turnOffOrtTelemetryByDefault } from '../platform/ort-telemetry';
delete (globalThis as { Float16Array?: unknown }).Float16Array;
// For the main threads that load ONNX Runtime themselves (tests, the bench, the fuzz, gpu-check),
// as main.ts does for the server's workers; in a worker it changes only that thread's copy.
turnOffOrtTelemetryByDefault();

export * from 'onnxruntime-node';

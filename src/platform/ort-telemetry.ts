/**
 * onnxruntime 1.30 on Linux otherwise starts Microsoft's telemetry: files under /tmp and
 * ~/.cache, and uploads. ONNX Runtime reads ORT_DISABLE_TELEMETRY from the process environment,
 * which only the main thread's `process.env` writes to (a worker's is a copy), so the main thread
 * calls this before any session exists. An explicit value wins.
 */
export function turnOffOrtTelemetryByDefault(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}

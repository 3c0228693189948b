/**
 * grpc.health.v1 over the server's readiness: service '' is liveness (SERVING whenever the
 * process answers, so the kubelet never restarts a pod for a broken model), the inference
 * service is server readiness, and each model's name is that model's readiness.
 */
import type { HealthImplementation, ServingStatus } from 'grpc-health-check';
import type { Readiness } from '../health/readiness';

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';

/** Publishes the current statuses and keeps them current; Watch streams see each change once. */
export function publishHealth(health: HealthImplementation, readiness: Readiness): void {
  const published = new Map<string, ServingStatus>();
  const set = (service: string, status: ServingStatus): void => {
    if (published.get(service) === status) return;
    published.set(service, status);
    health.setStatus(service, status);
  };
  const status = (ready: boolean): ServingStatus => (ready ? 'SERVING' : 'NOT_SERVING');
  const update = (): void => {
    set('', 'SERVING');
    set(INFERENCE_SERVICE, status(readiness.serverReady));
    const models = new Set(readiness.heldModelNames());
    for (const name of models) if (name !== INFERENCE_SERVICE) set(name, status(readiness.modelReady(name)));
    // A model that left the repository is not ready; Check keeps answering rather than NOT_FOUND.
    for (const name of published.keys()) if (name !== '' && name !== INFERENCE_SERVICE && !models.has(name)) set(name, 'NOT_SERVING');
  };
  readiness.on('change', update);
  update();
}

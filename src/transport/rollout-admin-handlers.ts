/** The RolloutAdmin RPCs: decode, call the data plane's rollout admin, encode; a throw becomes its status. */
import { type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { asInferenceError } from '../errors';
import type { RolloutAdmin, RolloutView } from '../dataplane/rollout-admin';
import type { Logger } from '../observability/logger';
import { logFailedRequest } from './request-log';
import { rolloutStatusMessage, weightsFromWire, type WireModelRequest, type WirePromoteRequest, type WireSetWeightsRequest } from './rollout-admin-messages';
import { errorStatus } from './status';

export function createRolloutAdminHandlers(admin: RolloutAdmin, log: Logger): UntypedServiceImplementation {
  const unary =
    <Req extends WireModelRequest>(rpc: string, body: (request: Req, model: string) => RolloutView) =>
    (call: ServerUnaryCall<Req, object>, callback: sendUnaryData<object>): void => {
      const model = call.request.model ?? '';
      try {
        callback(null, rolloutStatusMessage(body(call.request, model)));
      } catch (err) {
        const error = asInferenceError(err);
        logFailedRequest(log, rpc, model, error);
        callback(errorStatus(error));
      }
    };
  return {
    GetRollout: unary('GetRollout', (_req: WireModelRequest, model) => admin.get(model)),
    SetWeights: unary('SetWeights', (req: WireSetWeightsRequest, model) => admin.setWeights(model, weightsFromWire(req.weights))),
    Promote: unary('Promote', (req: WirePromoteRequest, model) => admin.promote(model, req.version ?? 0)),
    Rollback: unary('Rollback', (_req: WireModelRequest, model) => admin.rollback(model)),
  };
}

/** ModelInferRequest -> InferRequest; the response side is infer-response-encoder.ts. */
import { performance } from 'node:perf_hooks';
import { invalidArgument } from '../errors';
import type { Cancellation } from '../batching/cancellation';
import type { InferRequest, ParameterValue } from '../dataplane/infer-request';
import { decodeInputs } from './codec';
import type { DecodeLimits } from './infer-request-census';
import type { WireInferRequest, WireParameter } from './wire-types';

export interface CallContext {
  /** performance.now() time of the call's deadline, if it has one. */
  readonly deadlineAt: number | undefined;
  readonly cancellation: Cancellation | undefined;
}

export function decodeInferRequest(wire: WireInferRequest, context: CallContext, limits: DecodeLimits): InferRequest {
  if (wire.malformed !== undefined) {
    throw invalidArgument(`request: not a valid ModelInferRequest protobuf message (${wire.malformed}): expected the bytes of one encoded message`);
  }
  // Past MAX_TENSORS, MAX_DIMS and the other decoding bounds (infer-request-census.ts).
  if (wire.refused !== undefined) throw invalidArgument(wire.refused);
  const params = wire.parameters;
  return {
    // Checked by the data plane, which checks every RPC's model name the same way.
    modelName: wire.model_name ?? '',
    modelVersion: wire.model_version ?? '',
    id: wire.id ?? '',
    inputs: decodeInputs(wire.inputs, wire.raw_input_contents, limits.maxBytesElements),
    outputs: (wire.outputs ?? []).map((o, i) => {
      if (!o.name) throw invalidArgument(`requested output ${i}: name is empty`);
      return o.name;
    }),
    classifications: wire.outputs && classifications(wire.outputs),
    priority: params?.priority ? nonNegativeInteger(params.priority, "parameter 'priority'") : 0,
    timeoutMicros: params?.timeout ? nonNegativeInteger(params.timeout, "parameter 'timeout'") : undefined,
    parameters: params ? parameterValues(params) : undefined,
    deadlineAt: context.deadlineAt,
    cancellation: context.cancellation,
  };
}

/** Triton's classification extension: a requested output's `classification` parameter, the number of top classes; 0 is none. */
function classifications(outputs: NonNullable<WireInferRequest['outputs']>): Map<string, number> | undefined {
  let counts: Map<string, number> | undefined;
  for (const o of outputs) {
    const param = o.parameters?.classification;
    if (!param) continue;
    const count = nonNegativeInteger(param, `parameter 'classification' of output '${o.name}'`);
    if (count > 0) (counts ??= new Map()).set(o.name!, count);
  }
  return counts;
}

/** Only requests that send parameters pay for the map; the fast decoder's requests send none. */
function parameterValues(params: Readonly<Record<string, WireParameter>>): Map<string, ParameterValue> {
  const values = new Map<string, ParameterValue>();
  for (const name of Object.keys(params)) {
    const param = params[name];
    const raw = param.parameter_choice ? param[param.parameter_choice] : undefined;
    if (raw === undefined) continue;
    values.set(name, param.parameter_choice === 'int64_param' || param.parameter_choice === 'uint64_param' ? Number(raw) : raw);
  }
  return values;
}

/**
 * Triton clients send priority and timeout as int64 or uint64 parameters, as Triton requires.
 * proto-loader gives those as decimal strings; a string_param is not read as a number ("" was 0).
 */
function nonNegativeInteger(param: WireParameter, what: string): number {
  const choice = param.parameter_choice;
  const raw = choice === 'int64_param' || choice === 'uint64_param' ? param[choice] : undefined;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a non-negative integer, as int64_param or uint64_param`);
  }
  return value;
}

/** grpc-js deadlines are wall-clock; the queue works in performance.now() time. */
export function deadlineFrom(deadline: Date | number): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return undefined;
  return performance.now() + (at - Date.now());
}

/**
 * Unary requests whose bytes their protobuf reader cannot read, or should not. grpc-js answers a
 * deserializer's throw with INTERNAL 'Error deserializing request', which reads as a server fault;
 * here they get INVALID_ARGUMENT with the reader's reason, as ModelInfer's do
 * (infer-request-decoder.ts). And since protobufjs builds an object per map entry, a message of
 * millions of tiny ones (RepositoryModelLoad's parameters, SetWeights' weights) would take
 * gigabytes: past MAX_FIELDS top-level fields a request is refused before it is read.
 */
import type { handleUnaryCall, MethodDefinition, Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../errors';
import type { Logger } from '../observability/logger';
import { logFailedRequest } from './request-log';
import { errorStatus } from './status';

/** Far more than any of these requests has: a few fields, and a map of a handful of entries. */
export const MAX_FIELDS = 4096;

/** ModelInfer has many more fields (tensors, raw contents) and its own census (infer-request-census.ts). */
const OWN_CENSUS = new Set(['ModelInfer']);

/** Stands in for a request that was not read, with what the client is told; its handler never sees it. */
class Unread {
  constructor(readonly message: string) {}
}

/** proto-loader's method definitions name their request type. */
type LoadedMethod = MethodDefinition<unknown, unknown> & { readonly requestType?: { readonly type?: { readonly name?: string } } };

/** Adds `definition` to `server`, each implemented unary RPC refusing a request it did not read (above) before its handler runs. */
export function addRefusingUnread(server: Server, definition: ServiceDefinition, implementation: UntypedServiceImplementation, log: Logger): void {
  const methods: Record<string, MethodDefinition<unknown, unknown>> = {};
  const handlers: UntypedServiceImplementation = { ...implementation };
  for (const [rpc, method] of Object.entries(definition) as [string, LoadedMethod][]) {
    // grpc-js takes a handler by the method's name or its original (lower camel case) name.
    const key = rpc in implementation ? rpc : (method.originalName ?? rpc);
    const handler = implementation[key] as handleUnaryCall<unknown, unknown> | undefined;
    if (method.requestStream || method.responseStream || !handler) {
      methods[rpc] = method;
      continue;
    }
    const type = method.requestType?.type?.name ?? `${rpc}Request`;
    const bounded = !OWN_CENSUS.has(rpc);
    methods[rpc] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bounded && fieldsPast(bytes, MAX_FIELDS)) return new Unread(`request: a ${type} of more than ${MAX_FIELDS} fields: expected a few, and maps of a handful of entries`);
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          return new Unread(`request: not a valid ${type} protobuf message (${reason}): expected the bytes of one encoded message`);
        }
      },
    };
    handlers[key] = ((call, callback) => {
      if (!(call.request instanceof Unread)) return handler(call, callback);
      const error = invalidArgument(call.request.message);
      logFailedRequest(log, rpc, undefined, error);
      callback(errorStatus(error));
    }) satisfies handleUnaryCall<unknown, unknown>;
  }
  server.addService(methods, handlers);
}

/** Whether `bytes` hold more than `limit` top-level fields; bytes that are not protobuf are left to the reader. */
function fieldsPast(bytes: Uint8Array, limit: number): boolean {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= bytes.length) return -1;
      const byte = bytes[pos++];
      if (shift < 35) value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return -1;
  };
  for (let fields = 0; pos < bytes.length; fields++) {
    if (fields === limit) return true;
    const tag = varint();
    if (tag < 0) return false;
    const wireType = tag & 7;
    if (wireType === 0) {
      if (varint() < 0) return false;
    } else if (wireType === 2) {
      const length = varint();
      if (length < 0 || length > bytes.length - pos) return false;
      pos += length;
    } else if (wireType === 1 || wireType === 5) pos += wireType === 1 ? 8 : 4;
    else return false;
  }
  return false;
}

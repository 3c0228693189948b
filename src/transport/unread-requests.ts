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
import { fieldsPast } from './wire-scan';

/** Far more than any of these requests has: a few fields, and a map of a handful of entries. */
const MAX_FIELDS = 4096;

/** ModelInfer reads its own bytes, and refuses them in its own way (infer-request-decoder.ts, infer-request-census.ts). */
const OWN_READER = new Set(['ModelInfer']);

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
    if (method.requestStream || method.responseStream || !handler || OWN_READER.has(rpc)) {
      methods[rpc] = method;
      continue;
    }
    const type = method.requestType?.type?.name ?? `${rpc}Request`;
    methods[rpc] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (fieldsPast(bytes, MAX_FIELDS)) return new Unread(`request: a ${type} of more than ${MAX_FIELDS} fields: expected a few, and maps of a handful of entries`);
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

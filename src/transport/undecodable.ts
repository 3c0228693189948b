/**
 * Unary requests whose bytes their protobuf reader cannot read. grpc-js answers a deserializer's
 * throw with INTERNAL 'Error deserializing request', which reads as a server fault; here they get
 * INVALID_ARGUMENT with the reader's reason, as ModelInfer's do (infer-request-decoder.ts).
 */
import type { handleUnaryCall, MethodDefinition, Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../errors';
import type { Logger } from '../observability/logger';
import { logFailedRequest } from './request-log';
import { errorStatus } from './status';

/** Stands in for the request a deserializer could not read; its handler never sees it. */
class Undecodable {
  constructor(readonly reason: string) {}
}

/** proto-loader's method definitions name their request type. */
type LoadedMethod = MethodDefinition<unknown, unknown> & { readonly requestType?: { readonly type?: { readonly name?: string } } };

/** Adds `definition` to `server`, each implemented unary RPC refusing undecodable bytes before its handler runs. */
export function addRefusingUndecodable(server: Server, definition: ServiceDefinition, implementation: UntypedServiceImplementation, log: Logger): void {
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
    methods[rpc] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          return new Undecodable(err instanceof Error ? err.message : String(err));
        }
      },
    };
    handlers[key] = ((call, callback) => {
      if (!(call.request instanceof Undecodable)) return handler(call, callback);
      const error = invalidArgument(`request: not a valid ${type} protobuf message (${call.request.reason}): expected the bytes of one encoded message`);
      logFailedRequest(log, rpc, undefined, error);
      callback(errorStatus(error));
    }) satisfies handleUnaryCall<unknown, unknown>;
  }
  server.addService(methods, handlers);
}

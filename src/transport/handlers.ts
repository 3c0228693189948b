/**
 * One thin function per RPC: decode, call the data plane, encode. Every failure goes
 * through replyError, the one place that maps domain errors to gRPC status.
 */
import { type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { Cancellation } from '../batching/cancellation';
import { asInferenceError, type InferenceError } from '../errors';
import type { InferenceService } from '../dataplane/inference-service';
import type { InferReply, InferResult } from '../dataplane/infer-request';
import type { Logger } from '../observability/logger';
import { decodeInferRequest, deadlineFrom } from './infer-codec';
import { modelConfigMessage, modelStatisticsMessage } from './model-messages';
import type { OpenCalls } from './open-calls';
import { modelControlRequest, repositoryIndexMessage } from './repository-messages';
import { errorStatus } from './status';
import { logFailedRequest } from './request-log';
import { handleStream } from './stream';
import type { StreamReply } from './infer-response-encoder';
import type { ModelRef, WireInferRequest, WireModelControlRequest, WireRepositoryIndexRequest } from './wire-types';

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

export function createHandlers(service: InferenceService, log: Logger, streamMaxInFlight: number, openCalls: OpenCalls): UntypedServiceImplementation {
  const replyError = <Res>(callback: sendUnaryData<Res>, rpc: string, err: unknown, model?: string): void =>
    sendError(callback, log, rpc, model, asInferenceError(err));

  /** For the synchronous RPCs: any throw becomes a status. */
  const unary = <Req, Res>(rpc: string, body: (request: Req) => Res): Unary<Req, Res> =>
    (call, callback) => {
      try {
        callback(null, body(call.request));
      } catch (err) {
        replyError(callback, rpc, err, (call.request as ModelRef).name);
      }
    };

  /** For the RPCs that wait for the repository: a rejection becomes a status. */
  const unaryAsync = <Req, Res>(rpc: string, body: (request: Req) => Promise<Res>): Unary<Req, Res> =>
    (call, callback) => {
      Promise.resolve()
        .then(() => body(call.request))
        .then(
          (response) => callback(null, response),
          (err: unknown) => replyError(callback, rpc, err, (call.request as WireModelControlRequest).model_name),
        );
    };
  const repository = service.repositoryService;

  /** The result goes to grpc-js as it is: service-definition.ts encodes it. */
  const modelInfer: Unary<WireInferRequest, InferResult> = (call, callback) => {
    try {
      const cancellation = new Cancellation();
      // A bound method, not an arrow: a closure made per call has its optimized code dropped at every full GC.
      call.once('cancelled', cancellation.cancel.bind(cancellation));
      const request = decodeInferRequest(call.request, { deadlineAt: deadlineFrom(call.getDeadline()), cancellation }, service.limits);
      service.infer(request, new UnaryInferReply(callback, request.modelName, log));
    } catch (err) {
      replyError(callback, 'ModelInfer', err, call.request.model_name);
    }
  };

  return {
    ServerLive: unary('ServerLive', () => ({ live: service.isLive() })),
    ServerReady: unary('ServerReady', () => ({ ready: service.isReady() })),
    ModelReady: unary('ModelReady', (req: ModelRef) => ({ ready: service.modelReady(req.name ?? '', req.version ?? '') })),
    ServerMetadata: unary('ServerMetadata', () => service.info),
    ModelMetadata: unary('ModelMetadata', (req: ModelRef) => service.modelMetadata(req.name ?? '', req.version ?? '')),
    ModelConfig: unary('ModelConfig', (req: ModelRef) => ({ config: modelConfigMessage(service.modelVersion(req.name ?? '', req.version ?? '')) })),
    ModelStatistics: unary('ModelStatistics', (req: ModelRef) => ({
      model_stats: service.statistics(req.name ?? '', req.version ?? '').map(modelStatisticsMessage),
    })),
    RepositoryIndex: unaryAsync('RepositoryIndex', async (req: WireRepositoryIndexRequest) =>
      repositoryIndexMessage(await repository.index(req.repository_name ?? '', req.ready ?? false)),
    ),
    RepositoryModelLoad: unaryAsync('RepositoryModelLoad', async (req: WireModelControlRequest) => {
      await repository.load(modelControlRequest(req));
      return {};
    }),
    RepositoryModelUnload: unaryAsync('RepositoryModelUnload', async (req: WireModelControlRequest) => {
      await repository.unload(modelControlRequest(req));
      return {};
    }),
    ModelInfer: modelInfer,
    ModelStreamInfer: (call: ServerDuplexStream<WireInferRequest, StreamReply>) => handleStream(call, service, log, streamMaxInFlight, openCalls),
  };
}

function sendError<Res>(callback: sendUnaryData<Res>, log: Logger, rpc: string, model: string | undefined, error: InferenceError): void {
  logFailedRequest(log, rpc, model, error);
  callback(errorStatus(error));
}

/** ModelInfer's answer: the result or the one status its error maps to. */
class UnaryInferReply implements InferReply {
  constructor(
    private readonly callback: sendUnaryData<InferResult>,
    private readonly model: string,
    private readonly log: Logger,
  ) {}

  ok(result: InferResult): void {
    this.callback(null, result);
  }

  fail(error: InferenceError): void {
    sendError(this.callback, this.log, 'ModelInfer', this.model, error);
  }
}

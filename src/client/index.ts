/** The public client entry point (`onnx-grpc-server/client`): nothing of the server is loaded. */
export { InferenceClient, type InferenceClientOptions, type InferOptions, type InferResult, type OutputTensor, type ModelStatistics, type StreamRequest, type StreamOptions } from './inference-client';
export { InferenceClientError } from './client-error';
export type { Datatype, NumericArray, TensorValue, TensorData } from './tensor-codec';
export type { StreamAnswer } from './stream-session';

/** The public client entry point (`onnx-grpc-server/client`): nothing of the server is loaded. */
export { InferenceClient, type InferenceClientOptions, type InferOptions, type InferResult, type OutputTensor, type ModelStatistics } from './inference-client';
export { InferenceClientError } from './client-error';
export type { Datatype, NumericArray, TensorValue, TensorData } from './tensor-codec';

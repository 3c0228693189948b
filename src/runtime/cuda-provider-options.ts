/**
 * The CUDA provider's options as config.json may set them, and what of them reaches ONNX Runtime.
 * onnxruntime-node's binding (js/node/src/session_options_helper.cc, ParseExecutionProviders, the
 * same in 1.29 and 1.30) reads only `deviceId` from an execution provider object: it makes a
 * default OrtCUDAProviderOptionsV2, sets device_id and appends it. Session config entries
 * (sessionOptions.extra, passed as AddConfigEntry) are session keys, not CUDA provider options.
 * So every option but the device is refused at load rather than silently ignored.
 */

/** ORT's CUDA provider option names (the keys of OrtCUDAProviderOptionsV2), as Triton's onnxruntime backend passes them. */
export const CUDA_OPTION_NAMES = [
  'cudnn_conv_algo_search',
  'gpu_mem_limit',
  'arena_extend_strategy',
  'do_copy_in_default_stream',
  'cudnn_conv_use_max_workspace',
  'use_tf32',
  'enable_cuda_graph',
  'use_ep_level_unified_stream',
] as const;

export type CudaOptionName = (typeof CUDA_OPTION_NAMES)[number];

/** Checked values in ORT's own string form ('HEURISTIC', '1', '4294967296'). */
export type CudaOptions = Readonly<Partial<Record<CudaOptionName, string>>>;

export const BINDING_LIMIT = "onnxruntime-node's binding passes only device_id to the CUDA provider (ParseExecutionProviders in js/node/src/session_options_helper.cc)";

/** Throws, naming each option, when any is set: none of them can reach the provider. */
export function checkCudaOptions(options: CudaOptions): void {
  const set = Object.keys(options);
  if (set.length === 0) return;
  throw new Error(`config.json sets the CUDA provider option${set.length > 1 ? 's' : ''} ${set.join(', ')}, which cannot be applied: ${BINDING_LIMIT}`);
}

/** The executionProviders entry for CUDA on `deviceId`: all the binding takes. */
export function cudaProvider(deviceId: number): { readonly name: 'cuda'; readonly deviceId: number } {
  return { name: 'cuda', deviceId };
}

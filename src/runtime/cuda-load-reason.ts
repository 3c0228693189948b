/**
 * Why the CUDA provider failed to load, in terms a user can act on. ORT's exception says only
 * "Failed to load shared library"; the file that was missing goes to ORT's own log, which we
 * silence (session-core.ts), and names only the first library ORT tried. Asking the dynamic
 * loader ourselves, with process.dlopen on the provider library, gets dlerror()'s text, which
 * names the first dependency it cannot find (e.g. "libcublasLt.so.13: cannot open shared object file").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';

/** Where ORT looks for its provider libraries: beside onnxruntime-node's binding; undefined where it has none for this platform. */
export function providerLibraryDir(): string | undefined {
  try {
    // The path onnxruntime-node's dist/binding.js loads the binding from.
    return path.dirname(require.resolve(`onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`));
  } catch {
    return undefined;
  }
}

/**
 * What the dynamic loader says of the CUDA provider library at `library`: why it cannot load,
 * or undefined when it loads (then the loader was not what failed).
 */
export function diagnoseCudaLibrary(library: string): string | undefined {
  if (!fs.existsSync(library)) return `onnxruntime-node has no CUDA provider library at ${library}; see docs/gpu.md`;
  // A throwaway module object: the library is no Node addon, so a library that loads ends in "did not self-register".
  const throwaway = { exports: {} };
  try {
    process.dlopen(throwaway, library);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return /did not self-register/.test(message) ? undefined : message;
  }
  return undefined;
}

/**
 * ORT's reason for a failed CUDA provider, with the loader's own words added when ORT could not
 * load a library. Other failures (no device, out of memory) already say what happened: kept as they are.
 */
export function explainCudaFailure(ortMessage: string, library = defaultLibrary()): string {
  if (!/failed to load/i.test(ortMessage)) return ortMessage;
  const why = library === undefined ? 'onnxruntime-node ships no binding for this platform' : diagnoseCudaLibrary(library);
  return why === undefined ? ortMessage : `${ortMessage}: ${why}`;
}

function defaultLibrary(): string | undefined {
  const dir = providerLibraryDir();
  return dir === undefined ? undefined : path.join(dir, CUDA_PROVIDER_LIBRARY);
}

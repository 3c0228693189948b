/**
 * The CUDA provider's load failure explained by the dynamic loader: here, where onnxruntime-node
 * has no CUDA provider library, and with a real shared library whose dependency is missing
 * (built with gcc in a temporary folder; skipped without gcc).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CUDA_PROVIDER_LIBRARY, diagnoseCudaLibrary, explainCudaFailure, providerLibraryDir } from '../src/runtime/cuda-load-reason';
import { makeTempDir, removeDir } from './support/e2e-helpers';

const ORT_MESSAGE = 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library';

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('the CUDA provider load failure reason', () => {
  it("finds onnxruntime-node's provider folder beside its binding", () => {
    const dir = providerLibraryDir();
    expect(dir).to.be.a('string');
    expect(fs.existsSync(path.join(dir!, 'onnxruntime_binding.node'))).to.equal(true);
  });

  it("says so when onnxruntime-node has no CUDA provider library (this machine's case)", function () {
    const library = path.join(providerLibraryDir()!, CUDA_PROVIDER_LIBRARY);
    if (fs.existsSync(library)) this.skip();
    expect(explainCudaFailure(ORT_MESSAGE)).to.equal(`${ORT_MESSAGE}: onnxruntime-node has no CUDA provider library at ${library}; see docs/gpu.md`);
  });

  it('leaves a failure that is not a failed load as ONNX Runtime said it', () => {
    const message = 'CUDA failure 100: no CUDA-capable device is detected';
    expect(explainCudaFailure(message, '/nonexistent/libonnxruntime_providers_cuda.so')).to.equal(message);
  });

  describe('with a library built here', function () {
    let dir: string | undefined;
    let broken: string;
    let loadable: string;

    before(function () {
      if (!hasGcc()) this.skip();
      dir = makeTempDir('cuda-load-reason');
      fs.writeFileSync(path.join(dir, 'dep.c'), 'int fake_cublas(void) { return 1; }\n');
      fs.writeFileSync(path.join(dir, 'provider.c'), 'int fake_cublas(void);\nint provider(void) { return fake_cublas(); }\n');
      fs.writeFileSync(path.join(dir, 'plain.c'), 'int plain(void) { return 2; }\n');
      const dep = path.join(dir, 'libfakecublasLt.so.13');
      execFileSync('gcc', ['-shared', '-fPIC', '-Wl,-soname,libfakecublasLt.so.13', '-o', dep, path.join(dir, 'dep.c')]);
      broken = path.join(dir, 'libprovider.so');
      execFileSync('gcc', ['-shared', '-fPIC', '-o', broken, path.join(dir, 'provider.c'), dep]);
      loadable = path.join(dir, 'libplain.so');
      execFileSync('gcc', ['-shared', '-fPIC', '-o', loadable, path.join(dir, 'plain.c')]);
      // The dependency is gone, as libcublasLt.so.13 is on a machine without CUDA.
      fs.rmSync(dep);
    });
    after(() => removeDir(dir));

    it("names the dependency the loader cannot find, in dlerror()'s words", () => {
      expect(diagnoseCudaLibrary(broken)).to.equal('libfakecublasLt.so.13: cannot open shared object file: No such file or directory');
      expect(explainCudaFailure(ORT_MESSAGE, broken)).to.equal(`${ORT_MESSAGE}: libfakecublasLt.so.13: cannot open shared object file: No such file or directory`);
    });

    it('adds nothing when the library loads: the loader was not what failed', () => {
      expect(diagnoseCudaLibrary(loadable)).to.equal(undefined);
      expect(explainCudaFailure(ORT_MESSAGE, loadable)).to.equal(ORT_MESSAGE);
    });
  });
});

/**
 * `node dist/scripts/gpu/check-provider.js [DIR]`: checks that onnxruntime-node's library folder
 * (default: the installed package's bin/napi-v6/linux/x64) holds a CUDA execution provider this
 * core can load, without a GPU and without binutils (the slim build image has no readelf):
 *
 * - libonnxruntime.so.1, onnxruntime_binding.node, libonnxruntime_providers_cuda.so and
 *   libonnxruntime_providers_shared.so are all there;
 * - the core's version string (onnxruntime-node's package version, which must appear in
 *   libonnxruntime.so.1 as a string of its own) is also the ONNX Runtime version string in the
 *   CUDA provider: a provider built for another ONNX Runtime release does not load (docs/gpu.md);
 * - the provider's DT_NEEDED entries (read from its ELF dynamic section, as `readelf -d` prints
 *   them) are the CUDA 13 libraries this project's image and docs promise: libcudart.so.13,
 *   libcublas.so.13, libcublasLt.so.13, libcurand.so.10, and the driver's libcuda.so.1.
 *
 * Prints what it found; exits 1 on any failure, so a build or a bundle never goes on CPU-only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What the CUDA provider of ONNX Runtime 1.29 (CUDA 13 build) links; cuDNN 9 is loaded lazily. */
export const EXPECTED_CUDA_NEEDED = ['libcudart.so.13', 'libcublas.so.13', 'libcublasLt.so.13', 'libcurand.so.10', 'libcuda.so.1'];

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

/** The DT_NEEDED entries of a 64-bit little-endian ELF file, in order. */
export function elfNeeded(file: string): string[] {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file}: not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${file}: not a 64-bit little-endian ELF file`);
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const loads: Array<{ vaddr: bigint; offset: bigint; filesz: bigint }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const type = buf.readUInt32LE(at);
    const offset = buf.readBigUInt64LE(at + 8);
    const vaddr = buf.readBigUInt64LE(at + 16);
    const filesz = buf.readBigUInt64LE(at + 32);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
  }
  if (dynamic === undefined) throw new Error(`${file}: no dynamic section`);
  const toOffset = (addr: bigint): number => {
    const seg = loads.find((l) => addr >= l.vaddr && addr < l.vaddr + l.filesz);
    if (seg === undefined) throw new Error(`${file}: address ${addr.toString(16)} is in no loaded segment`);
    return Number(addr - seg.vaddr + seg.offset);
  };
  const needed: bigint[] = [];
  let strtab: bigint | undefined;
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
    const tag = buf.readBigInt64LE(at);
    const value = buf.readBigUInt64LE(at + 8);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) needed.push(value);
    if (tag === DT_STRTAB) strtab = value;
  }
  if (strtab === undefined) throw new Error(`${file}: no DT_STRTAB`);
  const base = toOffset(strtab);
  return needed.map((n) => {
    const start = base + Number(n);
    return buf.toString('latin1', start, buf.indexOf(0, start));
  });
}

/** The NUL-delimited strings of a file that look like an ONNX Runtime version (1.10.0 and later). */
export function ortVersionStrings(file: string): string[] {
  const text = fs.readFileSync(file).toString('latin1');
  const found = new Set<string>();
  for (const m of text.matchAll(/\0(1\.[1-9]\d\.\d{1,2})\0/g)) found.add(m[1]!);
  return [...found].sort();
}

function defaultDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', 'linux', 'x64');
}

function main(): number {
  const dir = path.resolve(process.argv[2] ?? defaultDir());
  const problems: string[] = [];
  const files = ['libonnxruntime.so.1', 'onnxruntime_binding.node', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
  for (const f of files) if (!fs.existsSync(path.join(dir, f))) problems.push(`${f} is missing from ${dir}`);
  if (problems.length > 0) return report(dir, problems);

  const pkgJson = path.join(dir, '..', '..', '..', '..', 'package.json');
  const coreVersion = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const coreStrings = ortVersionStrings(path.join(dir, 'libonnxruntime.so.1'));
  if (!coreStrings.includes(coreVersion)) problems.push(`libonnxruntime.so.1 does not carry onnxruntime-node's version ${coreVersion} (found ${coreStrings.join(', ') || 'none'})`);
  const cuda = path.join(dir, 'libonnxruntime_providers_cuda.so');
  const providerStrings = ortVersionStrings(cuda);
  if (providerStrings.length !== 1 || providerStrings[0] !== coreVersion) {
    problems.push(`the CUDA provider is built for ONNX Runtime ${providerStrings.join(' or ') || '(no version string)'}, the core is ${coreVersion}: they must match exactly`);
  }
  const needed = elfNeeded(cuda);
  const missing = EXPECTED_CUDA_NEEDED.filter((n) => !needed.includes(n));
  if (missing.length > 0) problems.push(`the CUDA provider does not link ${missing.join(', ')} (NEEDED: ${needed.join(', ')}): not the CUDA 13 build this image is made for`);
  const otherCuda = needed.filter((n) => /^lib(cu|nv)/.test(n) && !EXPECTED_CUDA_NEEDED.includes(n));
  if (otherCuda.length > 0) problems.push(`the CUDA provider links ${otherCuda.join(', ')}, which docs/gpu.md does not list`);
  process.stdout.write(`onnxruntime core ${coreVersion}; CUDA provider for ONNX Runtime ${providerStrings.join(', ')}\n`);
  process.stdout.write(`libonnxruntime_providers_cuda.so NEEDED: ${needed.join(' ')}\n`);
  process.stdout.write(`libonnxruntime_providers_shared.so NEEDED: ${elfNeeded(path.join(dir, 'libonnxruntime_providers_shared.so')).join(' ')}\n`);
  return report(dir, problems);
}

function report(dir: string, problems: string[]): number {
  if (problems.length === 0) {
    process.stdout.write(`ok: ${dir} holds a CUDA provider for this ONNX Runtime\n`);
    return 0;
  }
  for (const p of problems) process.stderr.write(`check-provider: ${p}\n`);
  return 1;
}

if (require.main === module) process.exitCode = main();

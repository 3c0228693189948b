#!/bin/sh
# scripts/gpu/install-provider.sh [--prune SM] [NODE_MODULES]
#
# Puts the CUDA execution provider beside onnxruntime-node's own libraries, from the npm package
# that gpu/package-lock.json pins (com.github.asus4.onnxruntime.linux-x64-gpu, ONNX Runtime 1.29.0,
# CUDA 13), and checks the result; exits non-zero rather than leave a CPU-only install.
#
#   NODE_MODULES  the node_modules holding onnxruntime-node (default: the repository's)
#   --prune SM    keep only the GPU code for compute capability SM (90: H100, H200) in the CUDA
#                 provider, with ../shared/tools/prune_fatbin.py (PRUNE_FATBIN overrides the path);
#                 for the device bundle, not for images
#
# Needs: `npm ci` done in gpu/ (gpu/README.md), and dist/scripts/gpu/check-provider.js (npm run
# build). Needs no binutils: the ELF checks are in check-provider. Run from anywhere.
set -eu

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PRUNE_SM=
if [ "${1:-}" = "--prune" ]; then PRUNE_SM="${2:?--prune needs an SM number, e.g. 90}"; shift 2; fi
NODE_MODULES="${1:-$ROOT/node_modules}"
SRC="$ROOT/gpu/node_modules/com.github.asus4.onnxruntime.linux-x64-gpu/Plugins/Linux/x64"
DEST="$NODE_MODULES/onnxruntime-node/bin/napi-v6/linux/x64"
CHECK="$ROOT/dist/scripts/gpu/check-provider.js"

fail() { echo "install-provider: $*" >&2; exit 1; }

[ -f "$DEST/libonnxruntime.so.1" ] || fail "no onnxruntime-node linux/x64 libraries in $DEST (npm ci at the root first)"
for f in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
  [ -f "$SRC/$f" ] || fail "$SRC/$f is missing: run npm ci in gpu/ (gpu/README.md)"
done
[ -f "$CHECK" ] || fail "$CHECK is missing: npm run build first"

# The shared provider has no GPU code; it is copied as it is.
cp "$SRC/libonnxruntime_providers_shared.so" "$DEST/"
if [ -n "$PRUNE_SM" ]; then
  PRUNE_FATBIN="${PRUNE_FATBIN:-$ROOT/../shared/tools/prune_fatbin.py}"
  [ -f "$PRUNE_FATBIN" ] || fail "$PRUNE_FATBIN not found (set PRUNE_FATBIN)"
  python3 "$PRUNE_FATBIN" "$SRC/libonnxruntime_providers_cuda.so" "$DEST/libonnxruntime_providers_cuda.so" "$PRUNE_SM" \
    || fail "prune_fatbin.py failed"
else
  cp "$SRC/libonnxruntime_providers_cuda.so" "$DEST/"
fi
chmod 0755 "$DEST/libonnxruntime_providers_cuda.so" "$DEST/libonnxruntime_providers_shared.so"

# Files present, provider version == core version, CUDA 13 NEEDED entries (check-provider.ts).
if ! node "$CHECK" "$DEST"; then
  rm -f "$DEST/libonnxruntime_providers_cuda.so" "$DEST/libonnxruntime_providers_shared.so"
  fail "the provider failed its check and was removed again"
fi
# Where binutils are at hand, readelf must agree (the slim build image has none).
if command -v readelf >/dev/null 2>&1; then
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10; do
    readelf -d "$DEST/libonnxruntime_providers_cuda.so" | grep -q "NEEDED.*\[$lib\]" || {
      rm -f "$DEST/libonnxruntime_providers_cuda.so" "$DEST/libonnxruntime_providers_shared.so"
      fail "readelf -d shows no NEEDED $lib in the CUDA provider; removed it"
    }
  done
  echo "readelf -d agrees: the CUDA provider links libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10"
fi

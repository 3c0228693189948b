#!/bin/bash
# scripts/gpu/device-step.sh N [COMMAND...]: runs ON the GPU machine, one call per chunk made by
# scripts/gpu/pack.sh, each carrying .gpu-carry/MANIFEST and .gpu-carry/bundle.tar.xz.partNN.
#
#   N        the chunk this call carried (0, 1, ...): checked against MANIFEST and stored under
#            $GPU_BUNDLE_DIR (default /tmp/gpu-bundle), which survives only while the machine stays
#            warm (about 30 s after a call). "run" stores nothing and uses what is stored.
#   COMMAND  run once every chunk is stored, in the extracted bundle's root (bin/node, dist/,
#            models/, node_modules/), e.g. `bin/node dist/scripts/gpu/cuda-smoke.js models cuda`;
#            its output goes to $OUT/command.log, and GPU_OUT=$OUT lets it write files there.
#
# Once all chunks are stored it checks the archive's sha256, extracts it (once), puts every
# site-packages/nvidia/*/lib of python3 (PYTHON overrides) on LD_LIBRARY_PATH, says where each
# library the CUDA provider needs was found, writes nvidia-smi's report, checks the provider with
# the bundled node, and runs COMMAND. Exits 0 after storing a chunk while others are missing (it
# names them), 3 if COMMAND was given but chunks are missing, 1 on a checksum or other failure,
# else COMMAND's status.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CARRY="$ROOT/.gpu-carry"
STORE="${GPU_BUNDLE_DIR:-/tmp/gpu-bundle}"
OUT="${OUT:-$STORE/out}"
PY="${PYTHON:-python3}"
fail() { echo "device-step: $*" >&2; exit 1; }
[ $# -ge 1 ] || fail "usage: device-step.sh N|run [COMMAND...]"
STEP="$1"; shift
mkdir -p "$OUT"

MANIFEST="$CARRY/MANIFEST"
[ -f "$MANIFEST" ] || fail "$MANIFEST was not carried (carry .gpu-carry/MANIFEST with every call)"
bundle_sum="$(awk '$2 == "bundle.tar.xz" {print $1}' "$MANIFEST")"
[ -n "$bundle_sum" ] || fail "MANIFEST names no bundle.tar.xz"
mapfile -t PARTS < <(awk '$2 ~ /^bundle\.tar\.xz\.part[0-9]+$/ {print $2}' "$MANIFEST")

# A store left by another bundle is dropped.
if [ -f "$STORE/bundle.sha256" ] && [ "$(cat "$STORE/bundle.sha256")" != "$bundle_sum" ]; then
  echo "device-step: $STORE holds another bundle; starting over"
  rm -rf "$STORE/parts" "$STORE/root" "$STORE/bundle.sha256"
fi
mkdir -p "$STORE/parts"
echo "$bundle_sum" > "$STORE/bundle.sha256"

if [ "$STEP" != run ]; then
  part="$(printf 'bundle.tar.xz.part%02d' "$STEP")"
  expected="$(awk -v f="$part" '$2 == f {print $1}' "$MANIFEST")"
  [ -n "$expected" ] || fail "MANIFEST has no $part"
  [ -f "$CARRY/$part" ] || fail "$part was not carried"
  actual="$(sha256sum "$CARRY/$part" | cut -d' ' -f1)"
  [ "$actual" = "$expected" ] || fail "$part: sha256 $actual, MANIFEST says $expected"
  cp "$CARRY/$part" "$STORE/parts/$part"
  echo "device-step: stored $part (sha256 ok)"
fi

BUNDLE="$STORE/root/bundle"
if [ ! -f "$STORE/root/.extracted" ]; then
  missing=()
  for p in "${PARTS[@]}"; do [ -f "$STORE/parts/$p" ] || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "device-step: have $(( ${#PARTS[@]} - ${#missing[@]} )) of ${#PARTS[@]} chunks; missing: ${missing[*]} (the machine went cold if an earlier one is missing)"
    [ $# -eq 0 ] || { echo "device-step: not running: $*"; exit 3; }
    exit 0
  fi
  actual="$(cat "${PARTS[@]/#/$STORE/parts/}" | tee "$STORE/bundle.tar.xz" | sha256sum | cut -d' ' -f1)"
  [ "$actual" = "$bundle_sum" ] || { rm -f "$STORE/bundle.tar.xz"; fail "bundle.tar.xz: sha256 $actual, MANIFEST says $bundle_sum"; }
  rm -rf "$STORE/root" && mkdir -p "$STORE/root"
  tar -C "$STORE/root" -xJf "$STORE/bundle.tar.xz" || fail "extracting the bundle failed"
  rm -f "$STORE/bundle.tar.xz"
  touch "$STORE/root/.extracted"
  echo "device-step: bundle sha256 ok, extracted to $BUNDLE"
fi

# CUDA from the pip packages: site-packages/nvidia/*/lib (CUDA 13 wheels put most in nvidia/cu13/lib).
LIBDIRS="$("$PY" -c '
import glob, os, site, sys
roots = list(dict.fromkeys(site.getsitepackages() + [site.getusersitepackages()] + sys.path))
dirs = []
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib")) + glob.glob(os.path.join(r, "nvidia", "*", "lib64"))):
        if os.path.isdir(d) and d not in dirs:
            dirs.append(d)
print(":".join(dirs))
' 2>/dev/null)"
# The driver's libcuda.so.1 is usually on ldconfig's path; where it is only in the driver's folder, add that.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -e "$d/libcuda.so.1" ] && LIBDIRS="${LIBDIRS:+$LIBDIRS:}$d"; done
export LD_LIBRARY_PATH="${LIBDIRS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "python: $(command -v "$PY") ($("$PY" --version 2>&1))"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9 libcuda.so.1; do
    found=""
    IFS=: read -ra dirs <<< "$LD_LIBRARY_PATH"
    for d in "${dirs[@]}"; do [ -n "$d" ] && [ -e "$d/$lib" ] && { found="$d/$lib"; break; }; done
    [ -n "$found" ] || found="$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l {print $NF; exit}')"
    echo "$lib: ${found:-NOT FOUND}"
  done
  echo "ldd of the CUDA provider, unresolved:"
  ldd "$BUNDLE/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" | grep 'not found' || echo "  none"
} 2>&1 | tee "$OUT/libraries.txt"
(nvidia-smi 2>&1 || echo "nvidia-smi failed or is missing") | tee "$OUT/nvidia-smi.txt"

cd "$BUNDLE" || fail "no $BUNDLE"
bin/node dist/scripts/gpu/check-provider.js node_modules/onnxruntime-node/bin/napi-v6/linux/x64 || fail "the bundle's provider check failed"
[ $# -gt 0 ] || { echo "device-step: bundle ready; no command given"; exit 0; }
echo "device-step: running in $BUNDLE: $*"
PATH="$BUNDLE/bin:$PATH" GPU_OUT="$OUT" "$@" 2>&1 | tee "$OUT/command.log"
exit "${PIPESTATUS[0]}"

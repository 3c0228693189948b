# CPU image of onnx-grpc-server: Node 24 and onnxruntime-node's CPU provider (the npm package's own
# libraries, nothing downloaded). Serves the bundled models from /models (mount a model repository
# there to serve others) on port 8001, metrics on 8002, as UID 10001. linux/amd64 and linux/arm64.
#
#   docker build -t onnx-grpc-server:0.1.0 .
#   docker run --rm -p 8001:8001 -p 8002:8002 onnx-grpc-server:0.1.0
#   docker run --rm -p 8001:8001 -v /path/to/models:/models:ro onnx-grpc-server:0.1.0
#
# Kept in step with Dockerfile.gpu (same layout, user, ports and CMD) so one set of Kubernetes
# manifests runs either image: deploy/k8s.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Set by BuildKit for the platform being built (amd64, arm64).
ARG TARGETARCH
WORKDIR /app

# .npmrc sets ignore-scripts=true: onnxruntime-node's postinstall (the CUDA download) stays off,
# and the CPU libraries it ships on npm are all this image needs.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json ./
COPY src ./src
# Compile, drop dev dependencies, and keep only this platform's ONNX Runtime binaries (the package
# carries darwin, win32 and both Linux architectures).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && ort_arch="$(case "${TARGETARCH:-$(dpkg --print-architecture)}" in amd64) echo x64;; arm64) echo arm64;; *) echo none;; esac)" \
 && test -f "node_modules/onnxruntime-node/bin/napi-v6/linux/${ort_arch}/onnxruntime_binding.node" \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 ! -path "*/linux/${ort_arch}" -exec rm -rf {} +

FROM ${NODE_IMAGE}
# UID 10001 as in Dockerfile.gpu, so one securityContext (runAsUser 10001) fits both images;
# the base image's "node" user has UID 1000.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY proto ./proto
# Bundled demo models; mount a model repository over /models to serve others.
COPY models /models

# ORT_DISABLE_TELEMETRY: onnxruntime-node 1.29 (as 1.30) on Linux otherwise starts Microsoft's 1DS telemetry, which
# writes /tmp/mat-debug-<pid>.log and ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and queues
# uploads to mobile.events.data.microsoft.com. A server should not phone home, and with it off the
# process writes nothing, so the root filesystem can be read-only.
ENV NODE_ENV=production \
    EXECUTION_PROVIDERS=cpu \
    MODEL_REPOSITORY=/models \
    ORT_DISABLE_TELEMETRY=1

USER 10001:10001
# 8001: gRPC (KServe v2 / Open Inference Protocol, grpc.health.v1). 8002: Prometheus /metrics and
# /v2/health/live, /v2/health/ready.
EXPOSE 8001 8002
# CMD, not ENTRYPOINT, as in Dockerfile.gpu: a Kubernetes container that sets `args` must also set
# `command` (args replace CMD); configure with environment variables instead.
CMD ["node", "dist/src/main.js"]

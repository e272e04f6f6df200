# marketlens marketplace image: `docker build -f deploy/docker/marketplace.Dockerfile -t marketlens/marketplace .` from the repo root.
# Stage 1 builds with the same offline Bazel set-up as CI; stage 2 carries only the binary and the shared
# libraries it links, and runs as a non-root user with a read-only root filesystem in Kubernetes.
# The generator's vocabulary (services/marketplace/data/*.textproto) is embedded in the binary at build time:
# no data files to copy.
FROM debian:12 AS build
WORKDIR /src
COPY deploy/local/install_deps.sh deploy/local/install_deps.sh
RUN bash deploy/local/install_deps.sh
COPY . .
RUN bazel build -c opt //services/marketplace:marketplace //services/marketplace:cli && mkdir -p /out && cp -L bazel-bin/services/marketplace/marketplace bazel-bin/services/marketplace/cli /out/

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libpqxx-6.4 libpq5 libhiredis0.14 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/marketplace /app/marketplace
COPY --from=build /out/cli /app/cli
USER 65532:65532
ENTRYPOINT ["/app/marketplace"]

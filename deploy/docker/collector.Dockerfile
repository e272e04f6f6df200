# marketlens collector image: `docker build -f deploy/docker/collector.Dockerfile -t marketlens/collector .` from the repo root.
# Stage 1 builds with the same offline Bazel set-up as CI; stage 2 carries only the binary and the shared
# libraries it links, and runs as a non-root user with a read-only root filesystem in Kubernetes.
FROM debian:12 AS build
WORKDIR /src
COPY deploy/local/install_deps.sh deploy/local/install_deps.sh
RUN bash deploy/local/install_deps.sh
COPY . .
RUN bazel build -c opt //services/collector:collector //services/collector:cli && mkdir -p /out && cp -L bazel-bin/services/collector/collector bazel-bin/services/collector/cli /out/

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libpqxx-6.4 libpq5 libhiredis0.14 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcurl4 libssl3 libzip4 libexpat1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/collector /app/collector
COPY --from=build /out/cli /app/cli
USER 65532:65532
ENTRYPOINT ["/app/collector"]

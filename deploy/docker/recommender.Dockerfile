# marketlens recommender image: `docker build -f deploy/docker/recommender.Dockerfile -t marketlens/recommender .` from the repo root.
# Stage 1 builds with the same offline Bazel set-up as CI; stage 2 carries only the binary and the shared
# libraries it links, and runs as a non-root user with a read-only root filesystem in Kubernetes.
FROM debian:12 AS build
WORKDIR /src
COPY deploy/local/install_deps.sh deploy/local/install_deps.sh
RUN bash deploy/local/install_deps.sh
COPY . .
RUN bazel build -c opt //services/recommender:recommender //services/recommender:cli && mkdir -p /out && cp -L bazel-bin/services/recommender/recommender bazel-bin/services/recommender/cli /out/

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libpqxx-6.4 libpq5 libhiredis0.14 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/recommender /app/recommender
# The CLI is what the training CronJob runs (k8s/base/cronjobs.yaml: /app/cli train --source=postgres
# --register --promote --keep=5); it links libcrypto (libssl3) for artifact checksums.
COPY --from=build /out/cli /app/cli
USER 65532:65532
ENTRYPOINT ["/app/recommender"]

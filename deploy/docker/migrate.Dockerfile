# marketlens migrate image. Built by deploy/images/build.sh (one command for every image), which first builds the
# shared build stage (deploy/docker/build.Dockerfile: one Bazel build for all binaries) as BUILD_IMAGE.
# FROM scratch: the binaries, the Debian packages their shared libraries come from, the CA bundle and a
# non-root user (deploy/images/runtime_root.sh); no shell, no package manager, no compiler.
# /app/migrations holds deploy/migrations (the *.sql files and comment_edits.txt; the manifests pass
# --dir=/app/migrations).
ARG BUILD_IMAGE=marketlens/build:dev
FROM ${BUILD_IMAGE} AS build

FROM scratch
COPY --from=build /images/migrate/rootfs/ /
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/app/migrate"]

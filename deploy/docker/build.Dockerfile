# marketlens shared build stage: ONE offline Bazel build of every binary the images carry, then one
# runtime root filesystem per image (the binary, exactly the Debian packages its shared libraries come
# from, a non-root user), which the per-service Dockerfiles copy FROM scratch. Built by
# deploy/images/build.sh with the committed tree as the context; with buildah/podman the host's Bazel disk
# cache is mounted at /bazel-disk, so a warm cache turns the build into cache hits.
ARG BASE_IMAGE=marketlens/debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# The build half of deploy/local/install_deps.sh (build.sh checks that every name here is listed there),
# plus the runtime packages the services link that no -dev package pulls in.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      bazel-bootstrap bazel-rules-java g++ pkg-config \
      protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev \
      libhiredis-dev libpqxx-dev libpq-dev prometheus-cpp-dev libssl-dev libcurl4-openssl-dev \
      libboost-dev libeigen3-dev libhnswlib-dev libgtest-dev libgmock-dev libzip-dev libexpat1-dev \
      nlohmann-json3-dev \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /src
COPY . /src
ARG BAZEL_TARGETS
ARG BAZEL_DISK_CACHE=/bazel-disk
# --batch: no Bazel server outlives the step. --config=image (.bazelrc): -c opt and a fixed action
# environment, the same action keys as `bazel build --config=image` on the host.
RUN mkdir -p "$BAZEL_DISK_CACHE" \
 && bazel --batch build --config=image --disk_cache="$BAZEL_DISK_CACHE" $BAZEL_TARGETS \
 && mkdir -p /out && for t in $BAZEL_TARGETS; do \
      p="${t#//}"; d="/out/${p%%:*}"; mkdir -p "$d"; cp -L "bazel-bin/${p%%:*}/${p#*:}" "$d/"; done \
 && rm -rf /root/.cache/bazel
ARG IMAGES
RUN bash deploy/images/runtime_root.sh /out /images $IMAGES

#!/usr/bin/env bash
# Installs the Debian 12 packages marketlens builds, tests and runs with. Safe to re-run: does nothing
# when everything is there. Used by deploy/local/up.sh and tests/run.sh.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java g++ pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libhiredis-dev libpqxx-dev libpq-dev prometheus-cpp-dev libssl-dev libcurl4-openssl-dev
  libboost-dev libeigen3-dev libhnswlib-dev libgtest-dev libgmock-dev
  # run
  postgresql-15 postgresql-client-15 redis-server curl ca-certificates util-linux procps iproute2
  # checks (k8s manifests: tests/k8s; promtool for alert rules; the optional local Prometheus; kubectl itself is not a Debian package and comes with the machine image)
  python3 python3-yaml prometheus
  # the dashboard's browser test (headless Chromium over the DevTools protocol, driven by Node) and bench/
  chromium nodejs wrk
  # collector .xlsx ingest (zip + XML) and the workbooks its tests write
  libzip-dev libexpat1-dev python3-openpyxl
  # JSON documents through a library (header-only)
  nlohmann-json3-dev
)

# The container images' build and run test (tests/images; part of tests/run.sh's full run unless
# MARKETLENS_IMAGE_TESTS=0): daemonless builders.
if [ "${MARKETLENS_IMAGE_TESTS:-1}" != 0 ]; then PACKAGES+=(buildah podman debootstrap runc); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2

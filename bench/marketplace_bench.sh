#!/usr/bin/env bash
# Marketplace pages served per second (faults and rate limits off) versus an empty gRPC call
# (grpc.health.v1.Health/Check) on the same server in the same run. Optimised build; the bazel-* symlinks
# of the checkout are left alone (--symlink_prefix=/). Extra arguments go to the benchmark, e.g.
#   bench/marketplace_bench.sh --threads=2 --seconds=5 --products=5000
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt --symlink_prefix=/ //services/marketplace:marketplace_bench
"$(bazel info -c opt bazel-bin)/services/marketplace/marketplace_bench" "$@"

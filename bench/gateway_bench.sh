#!/usr/bin/env bash
# Gateway benchmark (picked up by bench/run.sh): GET /api/v1/products and /api/v1/recommendations over
# HTTP through the gateway (wrk at saturation, and a fixed 500 req/s) next to the same calls made directly
# over gRPC, in one run (services/gateway/gateway_bench.cc); saturation turns alternate between the two
# sides (--rounds) so that a busy machine weighs on both alike. Prints "figure:" lines for bench/run.sh and
# fails on failed requests. Optimised build; extra arguments go to the benchmark (e.g. --rate=500
# --seconds=10 --connections=16 --rounds=4 --only=products). Needs wrk (Debian package `wrk`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v wrk >/dev/null || { echo "gateway_bench.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
bazel build -c opt //services/gateway:gateway_bench
BIN="$(bazel info -c opt bazel-bin)/services/gateway"
"$BIN/gateway_bench" --migrations="$ROOT/deploy/migrations" "$@"

#!/usr/bin/env bash
# Recommender benchmarks (picked up by bench/run.sh): training time on 1M interactions, and Recommend
# latency / throughput next to an empty gRPC call on the same server. Optimised build; extra arguments go
# to the serving benchmark (e.g. --rate=1000 --seconds=5 --threads=8).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt //services/recommender/bench:train_bench //services/recommender/bench:serve_bench
BIN="$(bazel info -c opt bazel-bin)/services/recommender/bench"
echo "== recommender training (services/recommender/bench/train_bench.cc)"
"$BIN/train_bench"
echo
echo "== recommender serving (services/recommender/bench/serve_bench.cc)"
"$BIN/serve_bench" "$@"

#!/usr/bin/env bash
# Recommender benchmarks (picked up by bench/run.sh): training time on 1M interactions, ALS 64 factors on
# 10M interactions, and Recommend
# latency / throughput next to an empty gRPC call on the same server (hybrid, two-tower and NCF models;
# alternating rounds, median ratios, load average per round; the load generator is a separate process
# sending pre-serialised requests, and server and client CPU per call are printed apart); both print figure
# lines for bench/run.sh. Optimised build; the bazel-* symlinks of the checkout are left alone
# (--symlink_prefix=/).
# Extra arguments go to the serving benchmark (e.g. --rate=1000 --seconds=5 --threads=8, or
# --compare_typed_client to print the earlier client method's figures beside). A failing part does not stop
# the other; the script then exits non-zero.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt --symlink_prefix=/ //services/recommender/bench:train_bench \
  //services/recommender/bench:serve_bench
BIN="$(bazel info -c opt bazel-bin)/services/recommender/bench"
echo "== recommender training (services/recommender/bench/train_bench.cc)"
status=0
"$BIN/train_bench" || status=1
echo
echo "== recommender ALS, 64 factors on 10M interactions (train_bench --als_only_factors=64; AVX2+FMA kernels where the CPU has them; baseline: the portable kernels, same run, alternating)"
"$BIN/train_bench" --users=500000 --items=50000 --events_per_user=20 --iterations=3 --als_only_factors=64 || status=1
echo
echo "== recommender serving (services/recommender/bench/serve_bench.cc)"
"$BIN/serve_bench" "$@" || status=1
exit "$status"

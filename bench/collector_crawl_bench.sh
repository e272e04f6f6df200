#!/usr/bin/env bash
# Collector crawl vs the marketplace's rate limit: a full crawl of a generated world served with
# the real limit (5 requests/s, burst 10), with the collector's default client settings, once without faults
# and once with 10% injected faults (CRAWL_FAULT_RATES="0 0.1" by default). Each run prints the wall time
# divided by the time the rate limit allows for the same requests (target <= 1.1), the RESOURCE_EXHAUSTED
# answers received (target 0) and the rows lost (target 0), as figure lines for bench/run.sh. About a minute
# per run with the default world (--products=50). Optimised build; the bazel-* symlinks of the checkout are
# left alone (--symlink_prefix=/). Extra arguments go to every run, e.g. --products=100;
#   CRAWL_FAULT_RATES=0.2 bench/collector_crawl_bench.sh    # one run, 20% faults
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt --symlink_prefix=/ //services/collector:crawl_bench
BIN="$(bazel info -c opt bazel-bin)/services/collector/crawl_bench"
status=0
for rate in ${CRAWL_FAULT_RATES:-0 0.1}; do
  echo "-- crawl with fault rate $rate"
  # The migrations are found relative to the working directory (the checkout's root here).
  "$BIN" --fault_rate="$rate" "$@" || status=1
done
exit "$status"

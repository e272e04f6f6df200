#!/usr/bin/env bash
# Collector crawl vs the marketplace's rate limit (issue #4): a full crawl of a generated world served with
# the real limit (5 requests/s, burst 10), with the collector's default client settings. Prints the wall time
# divided by the time the rate limit allows for the same requests (target <= 1.1) and the RESOURCE_EXHAUSTED
# answers received (target 0). Takes about a minute with the default world (--products=50).
# Extra arguments go to the benchmark, e.g. --products=100 or --fault_rate=0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bazel run -c opt //services/collector:crawl_bench -- "$@"

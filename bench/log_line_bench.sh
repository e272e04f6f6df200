#!/usr/bin/env bash
# The JSON log line writer (common/logging, nlohmann-json quoting) next to the hand-written escaping it
# replaced and two plainer nlohmann-json writers on typical 10-field lines,
# in one run (bench/log_line_bench.cc). Prints "figure:" lines for bench/run.sh. Optimised build; extra
# arguments go to the benchmark (e.g. --lines=100000 --rounds=7).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt //bench:log_line_bench
"$(bazel info -c opt bazel-bin)/bench/log_line_bench" "$@"

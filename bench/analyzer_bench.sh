#!/usr/bin/env bash
# Analyzer benchmark (picked up by bench/run.sh; services/analyzer/bench/analyzer_bench.cc): local engine
# reviews/s per core (target >= 20k) next to the tokenizer alone, catch-up throughput into a throwaway
# PostgreSQL, and the end-to-end lag from a review announced on the Redis stream to updated product insights.
# Optimised build; extra arguments go to the benchmark (e.g. --products=1000 --seconds=5 --engine_only).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt //services/analyzer/bench:analyzer_bench
BIN="$(bazel info -c opt bazel-bin)/services/analyzer/bench"
"$BIN/analyzer_bench" --migrations="$ROOT/deploy/migrations" "$@"

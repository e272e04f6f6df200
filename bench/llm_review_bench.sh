#!/usr/bin/env bash
# Analyzer LLM review mode (picked up by bench/run.sh; services/analyzer/bench/llm_review_bench.cc): what
# --llm_review costs the per-review pipeline's thread (local engine + sampling/queueing) against the engine
# alone, in reviews/s per core (target >= 20k), on real Amazon reviews and on generated ones; and the share
# of reviews sampled for the LLM. Optimised build; extra arguments go to the benchmark (e.g. --seconds=5).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt //services/analyzer/bench:llm_review_bench
BIN="$(bazel info -c opt bazel-bin)/services/analyzer/bench"
"$BIN/llm_review_bench" --data_dir="${MARKETLENS_DATA_DIR:-$ROOT/../shared/data}" "$@"

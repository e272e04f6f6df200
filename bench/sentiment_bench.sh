#!/usr/bin/env bash
# Sentiment quality on real public reviews (picked up by bench/run.sh; services/analyzer/bench/
# sentiment_bench.cc): balanced accuracy of the engine with its gated weak-label model, in-domain
# (Blitzer books/dvd/kitchen and Amazon Magazine_Subscriptions, trained on one half, scored on the other)
# next to TF-IDF (1-2 grams) + class-balanced logistic regression trained on the same half in the same run,
# and out of domain (trained on one set, scored on another, sentences included) next to rules alone.
# Needs ../shared/data (or MARKETLENS_DATA_DIR). Optimised build; extra arguments go to the benchmark.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="${MARKETLENS_DATA_DIR:-$ROOT/../shared/data}"
if [ ! -d "$DATA/blitzer" ]; then
  echo "sentiment_bench: real data not found at $DATA (set MARKETLENS_DATA_DIR)" >&2
  exit 1
fi
bazel build -c opt //services/analyzer/bench:sentiment_bench
"$(bazel info -c opt bazel-bin)/services/analyzer/bench/sentiment_bench" --data_dir="$DATA" "$@"

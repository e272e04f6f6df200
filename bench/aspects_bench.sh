#!/usr/bin/env bash
# Aspect terms (picked up by bench/run.sh; services/analyzer/bench/aspects_bench.cc) on SemEval-2014
# task 4 in ${MARKETLENS_DATA_DIR:-../shared/data}/semeval2014: exact-match F1 of the trained tagger on laptop
# sentences it never saw (target >= 0.70; a fixed content-hash 20% split, and 5-fold cross-validation) and on
# the restaurant test set, each next to the 2014 task's dictionary baseline in the same run; term polarity
# accuracy next to the majority class; training time, extraction rate, and the engine's reviews/s with and
# without the tagger. Optimised build; extra arguments go to the benchmark (e.g. --folds=0).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="${MARKETLENS_DATA_DIR:-$ROOT/../shared/data}"
if [ ! -f "$DATA/semeval2014/Laptop_Train_v2.xml" ]; then
  echo "aspects_bench: $DATA/semeval2014 not found (set MARKETLENS_DATA_DIR)" >&2
  exit 1
fi
bazel build -c opt //services/analyzer/bench:aspects_bench
"$(bazel info -c opt bazel-bin)/services/analyzer/bench/aspects_bench" --data_dir="$DATA" "$@"

#!/usr/bin/env bash
# Recommender quality on public data (services/recommender/bench/quality_bench.cc): every model tuned on a
# validation split of the training side, next to independent reference EASE / iALS / popularity computed in
# the same run, the learned hybrid against its best part, and session-kNN against item-to-item on next-item
# prediction. Data: ${MARKETLENS_DATA_DIR:-../shared/data} (Amazon 5-core, UCI Online Retail sample).
# Prints figure lines for bench/run.sh. Extra arguments go to quality_bench (e.g. --tune_seconds=30).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="${MARKETLENS_DATA_DIR:-$ROOT/../shared/data}"
if [[ ! -d "$DATA/amazon-5core" || ! -d "$DATA/online-retail" ]]; then
  echo "recommender_quality_bench: no public data in $DATA (set MARKETLENS_DATA_DIR)" >&2
  exit 1
fi
bazel build -c opt --symlink_prefix=/ //services/recommender/bench:quality_bench
BIN="$(bazel info -c opt bazel-bin)/services/recommender/bench"
echo "== recommender quality on public data (services/recommender/bench/quality_bench.cc)"
"$BIN/quality_bench" --data_dir="$DATA" "$@"

#!/usr/bin/env bash
# Runs every benchmark of the project; each prints its figures next to a baseline measured in the same run.
# Build optimised (-c opt) so the figures mean something.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash deploy/local/install_deps.sh
bazel build -c opt //bench:all
echo "== gRPC server bootstrap overhead (bench/grpc_overhead_bench.cc)"
bazel-bin/bench/grpc_overhead_bench "$@"
for script in bench/*_bench.sh; do
  [ -e "$script" ] || continue
  echo "== $script"
  bash "$script"
done

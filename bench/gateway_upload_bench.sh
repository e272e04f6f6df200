#!/usr/bin/env bash
# REST upload benchmark (picked up by bench/run.sh): POST /api/v1/ingest of a 256 MiB body through the gateway
# to a collector stand-in that drops the chunks (services/gateway/upload_bench.cc). The gateway's peak RSS
# growth with the body streamed into IngestFile, against the same upload read whole first (the way uploads
# worked before streaming), measured in the same run; and both throughputs. Target: streamed < 16 MiB.
# Optimised build; extra arguments go to the benchmark (e.g. --mib=64).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt //services/gateway:upload_bench
"$(bazel info -c opt bazel-bin)/services/gateway/upload_bench" "$@"

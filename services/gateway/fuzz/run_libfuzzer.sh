#!/usr/bin/env bash
# Coverage-guided fuzzing of the gateway's request parsing and routing (fuzz/request_fuzz.cc) with clang's
# libFuzzer under AddressSanitizer and UBSan. Bazel builds the generated protos; clang++ builds the rest.
#
#   services/gateway/fuzz/run_libfuzzer.sh [seconds=60] [extra libFuzzer flags...]
#
# New interesting inputs go to .run/fuzz/corpus (the checked-in seeds stay untouched); a crash is written
# to .run/fuzz/crash-* and makes the script fail. Replay one with: .run/fuzz/request_fuzz <crash-file>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
seconds="${1:-60}"
shift || true

command -v clang++ >/dev/null || { echo "run_libfuzzer.sh: clang++ is not installed (apt-get install clang)" >&2; exit 1; }
bazel build //protos:annotations_cc //protos:analyzer_cc //protos:collector_cc //protos:recommender_cc >&2
bin="$(bazel info bazel-bin 2>/dev/null)"
out=".run/fuzz"
mkdir -p "$out/corpus"

absl_libs=$(sed -n '/name = "absl"/,/^)/p' third_party/BUILD | grep -o '"-labsl_[a-z0-9_]*"' | tr -d '"' | tr '\n' ' ')
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. -I"$bin/protos" \
  services/gateway/fuzz/request_fuzz.cc services/gateway/path_template.cc services/gateway/field_path.cc \
  services/gateway/request_binder.cc services/gateway/route_table.cc services/gateway/api_error.cc \
  common/logging/log.cc \
  "$bin/protos/marketlens/api/annotations.pb.cc" "$bin/protos/marketlens/analyzer/v1/analyzer.pb.cc" \
  "$bin/protos/marketlens/collector/v1/collector.pb.cc" "$bin/protos/marketlens/recommender/v1/recommender.pb.cc" \
  -lprotobuf $absl_libs -lpthread -o "$out/request_fuzz"

"$out/request_fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=5 -artifact_prefix="$out/" "$@" \
  "$out/corpus" services/gateway/fuzz/corpus

#!/usr/bin/env bash
# Runs every benchmark of the project and ends with ONE table of headline figures: each with its target,
# the baseline measured in the same run, and the ratio. Build optimised (-c opt) so the figures mean something.
#   bench/run.sh                     # everything (~20 minutes on 2 cores; serve_bench ~7.5 of them)
#   bench/run.sh gateway recommender # only the benchmark scripts whose name contains one of these words
#
# A benchmark reports a headline figure as one line on stdout (its other output is kept as it is):
#   figure: name=<what> value=<number> unit=<unit> target=<op><number> baseline=<what> baseline_value=<number>
# where op is one of <, <=, >, >= (or target=- for none) and baseline/baseline_value may be "-". The target is
# always checked against value; the ratio printed is value / baseline_value, for context. A target on a ratio
# (e.g. ">= 50% of an empty call's rate") is printed as its own figure whose value is that ratio.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash deploy/local/install_deps.sh

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
wanted() {  # name: true when no filter was given or one matches
  [ ${#filters[@]} -eq 0 ] && return 0
  for f in "${filters[@]}"; do [[ "$1" == *"$f"* ]] && return 0; done
  return 1
}
filters=("$@")
failed=()

run() {  # title, command...
  local title="$1"; shift
  echo "== $title"
  if ! "$@" 2>&1 | tee -a "$out"; then
    failed+=("$title")
  fi
  echo
}

if wanted grpc_overhead; then
  bazel build -c opt //bench:all
  run "gRPC server bootstrap overhead (bench/grpc_overhead_bench.cc)" \
    "$(bazel info -c opt bazel-bin)/bench/grpc_overhead_bench"
fi
for script in bench/*_bench.sh; do
  [ -e "$script" ] || continue
  wanted "$(basename "$script")" || continue
  run "$script" bash "$script"
done

echo "== figures (target, same-run baseline, ratio)"
{ grep -E '^figure: ' "$out" || true; } | sed 's/^figure: //' | awk '
  function field(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return substr($i, length(k) + 2) } return "-" }
  function met(v, t,   op, n) {
    if (t == "-") return "-"
    op = t; sub(/[0-9.eE+-]+$/, "", op); n = substr(t, length(op) + 1) + 0
    if (op == "<") return (v < n) ? "yes" : "NO"
    if (op == "<=") return (v <= n) ? "yes" : "NO"
    if (op == ">") return (v > n) ? "yes" : "NO"
    if (op == ">=") return (v >= n) ? "yes" : "NO"
    return "?"
  }
  BEGIN { printf "%-46s %14s %-10s %-10s %-30s %14s %8s %s\n", "figure", "value", "unit", "target", "baseline (same run)", "baseline", "ratio", "met" }
  {
    v = field("value"); b = field("baseline_value")
    ratio = (b != "-" && b + 0 != 0) ? sprintf("%.2f", v / b) : "-"
    printf "%-46s %14s %-10s %-10s %-30s %14s %8s %s\n", field("name"), v, field("unit"), field("target"), field("baseline"), b, ratio, met(v + 0, field("target"))
  }'
if [ ${#failed[@]} -ne 0 ]; then
  echo "benchmarks that failed: ${failed[*]}" >&2
  exit 1
fi

#!/usr/bin/env bash
# Collector workbook ingest: a generated 100k-row .xlsx sheet (openpyxl) through the real path
# (zip + XML streaming, header detection, validation, COPY into raw.contacts) into a throwaway PostgreSQL,
# next to the same rows as CSV through the CSV ingest in the same run; and the .xlsx reading alone. Prints
# figure lines for bench/run.sh. Optimised build; the checkout's bazel-* symlinks are left alone.
# Extra arguments go to the benchmark, e.g. --rows=20000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt --symlink_prefix=/ //services/collector:workbook_bench
"$(bazel info -c opt bazel-bin)/services/collector/workbook_bench" --migrations="$ROOT/deploy/migrations" \
  --generator="$ROOT/services/collector/testdata/make_bench_workbook.py" "$@"

#!/usr/bin/env bash
# Collector CSV ingest throughput: a generated, messy 1M-row campaign-posts file through the real
# ingest path (streaming parse, validation, COPY into staging, upsert into raw.campaign_posts, rejects into
# ingest.rejects) into a throwaway PostgreSQL, next to plain `psql \copy` of the same rows already clean into
# a table of the same shape, in the same run. Target >= 200k rows/s. Then 10k-row files with malformed lines
# (target: well under 1 s, < 500 ms). Both print figure lines for bench/run.sh. Optimised build; the bazel-*
# symlinks of the checkout are left alone (--symlink_prefix=/).
# Extra arguments go to the benchmark, e.g. --rows=200000, or --parse_only to time parsing alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bazel build -c opt --symlink_prefix=/ //services/collector:ingest_bench
"$(bazel info -c opt bazel-bin)/services/collector/ingest_bench" --migrations="$ROOT/deploy/migrations" "$@"

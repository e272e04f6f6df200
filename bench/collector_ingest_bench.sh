#!/usr/bin/env bash
# Collector CSV ingest throughput (issue #4): a generated, messy 1M-row campaign-posts file through the real
# ingest path (streaming parse, validation, COPY into staging, upsert into raw.campaign_posts, rejects into
# ingest.rejects) into a throwaway PostgreSQL, next to plain `psql \copy` of the same rows already clean into
# a table of the same shape, in the same run. Target >= 200k rows/s.
# Extra arguments go to the benchmark, e.g. --rows=200000, or --parse_only to time parsing alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bazel run -c opt //services/collector:ingest_bench -- "$@"

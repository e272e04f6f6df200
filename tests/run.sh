#!/usr/bin/env bash
# Runs every marketlens test: installs what it needs (Debian packages), then `bazel test //...`.
# Tests that need PostgreSQL or Redis start throwaway servers themselves.
#   tests/run.sh                 # everything
#   tests/run.sh //common/...    # a subset (any bazel target patterns)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash deploy/local/install_deps.sh

source deploy/local/env.sh  # BAZEL_DISK_CACHE, shared with up.sh
mkdir -p "$BAZEL_DISK_CACHE"

targets=("$@")
full_run=0
if [ ${#targets[@]} -eq 0 ]; then
  targets=(//...)
  full_run=1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
bazel test --disk_cache="$BAZEL_DISK_CACHE" --keep_going "${targets[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# The local stack end to end (up.sh / down.sh), only in a full run: it drives bazel and real servers itself.
if [ "$full_run" -eq 1 ]; then
  echo "==> tests/stack_smoke_test.sh"
  if bash tests/stack_smoke_test.sh; then
    echo "//tests:stack_smoke_test PASSED" >>"$log"
  else
    echo "//tests:stack_smoke_test FAILED" >>"$log"
    rc=1
  fi
fi

# One closing line any CI can read: how many test targets passed and failed.
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|INCOMPLETE)' "$log" || true)
echo "$passed passed, $failed failed"
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "tests/run.sh: no test ran" >&2
  exit 1
fi
exit "$rc"

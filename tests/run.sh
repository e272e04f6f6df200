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

# The local stack end to end (up.sh / down.sh), only in a full run: these drive bazel and real servers
# themselves, so they cannot run inside `bazel test`. Each counts as one test in the tally below.
run_outside_bazel() {  # label, command...
  local label="$1"; shift
  echo "==> $*"
  if "$@"; then
    echo "$label PASSED" >>"$log"
  else
    echo "$label FAILED" >>"$log"
    rc=1
  fi
}
if [ "$full_run" -eq 1 ]; then
  run_outside_bazel //tests:stack_smoke_test bash tests/stack_smoke_test.sh
  run_outside_bazel //tests/e2e:constellation_test python3 tests/e2e/constellation_test.py
  run_outside_bazel //tests/e2e:restart_test python3 tests/e2e/restart_test.py
  # The container images, built and run as the dev overlay says (tests/images/images_test.sh): only where
  # asked for, as it needs root and podman (install_deps.sh adds them). It adds ~3.5 minutes with a warm
  # Bazel disk cache (measured 205 s); the first run on a machine builds the opt binaries: ~25 minutes.
  if [ "${MARKETLENS_IMAGE_TESTS:-0}" = 1 ]; then
    run_outside_bazel //tests/images:images_test bash tests/images/images_test.sh
  else
    echo "==> tests/images/images_test.sh not run (set MARKETLENS_IMAGE_TESTS=1 to build and run the images)"
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

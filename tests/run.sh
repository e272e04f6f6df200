#!/usr/bin/env bash
# Runs every marketlens test: installs what it needs (Debian packages), then `bazel test //...`.
# Tests that need PostgreSQL or Redis start throwaway servers themselves.
#   tests/run.sh                 # everything
#   tests/run.sh //common/...    # a subset (any bazel target patterns)
# The full run ends with the container images (tests/images/images_test.sh: build every image, run the dev
# overlay's workloads) wherever podman and root are there. It then builds and tests everything with
# --config=image (-c opt, .bazelrc), the configuration the images are built with, so the images' build
# stage finds every binary in the shared Bazel disk cache: ONE build serves the tests, the local stack
# and the images (a fastbuild test build plus the images' opt build was ~25 minutes more on a cold cache).
# MARKETLENS_IMAGE_TESTS=0 opts out (fastbuild as before; said so in the output). Where the images test
# cannot run (not root, no podman) it is skipped with a notice, and counted as FAILED under CI=true.
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

# The images test: run (1), opted out (0), or why it cannot run here.
images=0 images_skip=""
if [ "$full_run" -eq 1 ]; then
  if [ "${MARKETLENS_IMAGE_TESTS:-1}" = 0 ]; then images_skip="opted out (MARKETLENS_IMAGE_TESTS=0)"
  elif [ "$(id -u)" -ne 0 ]; then images_skip="needs root (rootful podman, nsenter into the pod)"
  elif ! command -v podman >/dev/null; then images_skip="podman is not installed (deploy/local/install_deps.sh)"
  elif ! command -v kubectl >/dev/null; then images_skip="kubectl is not installed (kubectl kustomize)"
  else images=1
  fi
fi
bazel_flags=()
if [ "$images" -eq 1 ]; then
  bazel_flags=(--config=image)
  export MARKETLENS_BAZEL_FLAGS="--config=image"  # up.sh and tests/e2e build the same way
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
echo "==> bazel test ${bazel_flags[*]} ${targets[*]}"
bazel test --disk_cache="$BAZEL_DISK_CACHE" "${bazel_flags[@]}" --keep_going "${targets[@]}" 2>&1 | tee "$log"
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
  # The container images, built and run as the dev overlay says (tests/images/images_test.sh). Its build
  # stage's Bazel step is disk-cache hits after the --config=image test build above.
  if [ "$images" -eq 1 ]; then
    run_outside_bazel //tests/images:images_test bash tests/images/images_test.sh
  elif [ "${CI:-}" = true ] && [ "${MARKETLENS_IMAGE_TESTS:-1}" != 0 ]; then
    echo "==> tests/images/images_test.sh cannot run under CI=true: $images_skip" >&2
    echo "//tests/images:images_test FAILED" >>"$log"
    rc=1
  else
    echo "==> NOTICE: tests/images/images_test.sh SKIPPED: $images_skip" >&2
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

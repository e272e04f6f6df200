#!/usr/bin/env bash
# The container images as a cluster would meet them: deploy/images/build.sh builds every image from the
# committed tree (size budgets checked there), then this checks what is inside each image, and runs the dev
# overlay's workloads (k8s/overlays/dev rendered with kubectl kustomize) under podman with the manifests'
# own commands, args, env, volumes, users and probes (tests/images/run_overlay.py), and passes the stack
# smoke checks against them: probes, gRPC health and /metrics of every service, the migration Job, a crawl
# (the crawl CronJob's command), the gateway's /api/v1 with a key made by the image's own CLI; every
# container non-root with a read-only root filesystem.
# Needs podman (the builder and the runtime) and root (podman's rootful storage, nsenter into the pod).
# Part of tests/run.sh's full run (MARKETLENS_IMAGE_TESTS=0 opts out), after its `bazel test --config=image`,
# so the build stage's Bazel step is disk-cache hits: ~3.5 minutes (measured 205 s warm). Alone on a cold
# cache the build stage compiles every binary with -c opt: ~25-35 minutes on 2 cores (measured 2187 s for the
# whole test at load 9-13).
# build.sh's docker path cannot run here (no Docker engine): its commands are checked with --dry-run.
#   tests/images/images_test.sh [--skip-build]   (--skip-build: use the images of HEAD already built)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/images/containers.conf}"

command -v podman >/dev/null || { echo "images_test: podman is needed (apt-get install podman buildah debootstrap)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "images_test: needs root (rootful podman, nsenter)" >&2; exit 1; }

failures=0
check() {  # description, command...
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}

tag="$(git rev-parse --short=12 HEAD)"
work="$(mktemp -d /tmp/marketlens-images-test.XXXXXX)"
pod="marketlens-images-test-$$"
cleanup() {
  python3 tests/images/run_overlay.py down --pod "$pod" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

t0=$(date +%s)
if [ "${1:-}" != --skip-build ]; then
  MARKETLENS_IMAGE_BUILDER=podman bash deploy/images/build.sh --out "$work/images"
  echo "figure: images build ${tag} $(( $(date +%s) - t0 ))s"
else
  mkdir -p "$work/images"
fi

services=(marketplace collector analyzer recommender gateway)
all_images=("${services[@]}" migrate postgres redis)

# ---- build.sh's docker path, which no team machine can run: the commands it would run -----------------
dry="$(MARKETLENS_IMAGE_BUILDER=docker bash deploy/images/build.sh --dry-run --out "$work/dry" 2>&1 || echo "exit $?")"
check "build.sh --dry-run (docker) says the docker path is untested" grep -q 'docker path is UNTESTED' <<<"$dry"
check "build.sh --dry-run (docker) builds the shared build stage once" \
  test "$(grep -c '^+ docker build .* -f deploy/docker/build.Dockerfile' <<<"$dry")" -eq 1
for n in "${all_images[@]}"; do
  check "build.sh --dry-run (docker) builds $n tagged $tag" \
    grep -qE "^\+ docker build -q -t localhost/marketlens/$n:$tag -f deploy/docker/$n.Dockerfile" <<<"$dry"
done

# ---- what is in each image ----------------------------------------------------------------------------
for n in "${all_images[@]}"; do
  ref="localhost/marketlens/$n:$tag"
  check "$n: image $ref exists" podman image exists "$ref" || continue
  mnt="$(podman image mount "$ref")"
  files="$work/$n.files"
  (cd "$mnt" && find . -xdev \( -type f -o -type l \) | sed 's|^\.||') >"$files"
  check "$n: no .run/, source tree or Bazel outputs" bash -c "! grep -qE '(^|/)(\.run|bazel-out|bazel-bin|\.git)(/|$)|^/src/' '$files'"
  check "$n: no secrets by name (API keys, page-token keys, *.key, pgpass, secrets/)" \
    bash -c "! grep -iE 'dashboard_api_key|page_token_key|\.key$|/secrets/|\.pgpass' '$files'"
  # A private key in any text file (CA bundles are public certificates; libraries' strings are binary).
  check "$n: no private key in any file" bash -c "! grep -rlIE -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' '$mnt'"
  check "$n: no Bazel, compiler or -dev headers" \
    bash -c "! grep -qE '/bazel$|/bazel-real$|/usr/bin/(g\+\+|gcc|c\+\+|cc|ld|as)(-[0-9]+)?$|/cc1plus$|^/usr/include/' '$files'"
  podman image unmount "$ref" >/dev/null
  user="$(podman image inspect -f '{{.Config.User}}' "$ref")"
  check "$n: image user is non-root ($user)" bash -c "[[ '$user' =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]"
  if [[ " ${services[*]} migrate " == *" $n "* ]]; then
    check "$n: no shell, no package manager" bash -c "! grep -qE '^/(usr/)?bin/(sh|bash|dash|apt|apt-get|dpkg)$' '$files'"
    check "$n: SBOM lists packages and the binaries' sha256" \
      bash -c "[ ! -e '$work/images/$n.sbom.txt' ] && [ '${1:-}' = --skip-build ] || { grep -q '^libc6 ' '$work/images/$n.sbom.txt' && grep -qE '^[0-9a-f]{64}  app/$n$' '$work/images/$n.sbom.txt'; }"
    help="$(podman run --rm --network=none "$ref" --help 2>&1 || true)"
    check "$n: --help lists its flags" grep -qE -- '--[a-z_]+' <<<"$(grep -v 'No flags matched' <<<"$help")"
  fi
done

# ---- the dev overlay's workloads, as the manifests say ---------------------------------------------------
# --config=image as the full run's test build (tests/run.sh): no second configuration of the libraries.
bazel build --config=image //common/grpc_health:health_probe >/dev/null 2>&1
probe="$(bazel info --config=image bazel-bin 2>/dev/null)/common/grpc_health/health_probe"
kubectl kustomize k8s/overlays/dev >"$work/dev.yaml"
overlay() { python3 tests/images/run_overlay.py "$1" --manifests "$work/dev.yaml" --tag "$tag" --pod "$pod" \
              --workdir "$work/pod" --health-probe "$probe" "${@:2}"; }
t=$(date +%s)
check "dev overlay: every workload starts and its probes pass" overlay up
echo "figure: dev overlay up $(( $(date +%s) - t ))s"
netns=(nsenter "--net=/proc/$(podman inspect -f '{{.State.Pid}}' "$(podman pod inspect -f '{{.InfraContainerID}}' "$pod")")/ns/net")

declare -A grpc_port=([marketplace]=50051 [collector]=50052 [analyzer]=50053 [recommender]=50054 [gateway]=50055)
declare -A metrics_port=([marketplace]=9101 [collector]=9102 [analyzer]=9103 [recommender]=9104 [gateway]=9105)
for s in "${services[@]}"; do
  check "$s reports SERVING" "${netns[@]}" "$probe" --target="127.0.0.1:${grpc_port[$s]}"
  metrics="$("${netns[@]}" curl -fsS --max-time 5 "http://127.0.0.1:${metrics_port[$s]}/metrics" || true)"
  check "$s /metrics has grpc_server_handled_total for the health call" \
    grep -q 'grpc_server_handled_total{.*grpc_method="Check".*grpc_service="grpc.health.v1.Health"' <<<"$metrics"
  if grep -q 'marketlens_dependency_up{dependency="postgres"}' <<<"$metrics"; then
    check "$s sees Postgres up" grep -q 'marketlens_dependency_up{dependency="postgres"} 1' <<<"$metrics"
  fi
  if grep -q 'marketlens_dependency_up{dependency="redis"}' <<<"$metrics"; then
    check "$s sees Redis up" grep -q 'marketlens_dependency_up{dependency="redis"} 1' <<<"$metrics"
  fi
done

# Every running container: a non-root process, and a root filesystem mounted read-only.
for c in $(podman ps --filter "pod=$pod" --format '{{.Names}}' | grep -v infra); do
  pid="$(podman inspect -f '{{.State.Pid}}' "$c")"
  uid="$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")"
  check "$c runs as uid $uid (non-root)" test "$uid" -ne 0
  check "$c has a read-only root filesystem" bash -c "awk '\$5 == \"/\" {print \$6}' /proc/$pid/mountinfo | grep -qE '(^|,)ro(,|$)'"
done

# A crawl, as the crawl CronJob runs it (the collector image's CLI). A whole crawl of the dev world takes
# ~20 minutes here, so the check is its effect: products crawled from the marketplace reach the gateway
# while the CronJob's container runs without failing.
t=$(date +%s)
crawl="$(overlay job --name crawl --detach)"
check "the crawl CronJob's command starts a crawl" test -n "$crawl"
# The gateway answers /api/v1 with a key made by its image's CLI (as `kubectl exec deploy/gateway -- /app/cli`).
key="$(overlay run --like gateway -- /app/cli create-key --pg_dsn="host=postgres port=5432 dbname=marketlens user=marketlens connect_timeout=5" \
        --pg_password_file=/var/run/secrets/marketlens/postgres/password --name=images-test --scopes=write --quiet 2>/dev/null | tail -n1 || true)"
check "the gateway image's CLI made an API key" test -n "$key"
check "gateway refuses /api/v1/products without a key" \
  test "$("${netns[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8080/api/v1/products)" = 401
products=""
for _ in $(seq 180); do
  products="$("${netns[@]}" curl -fsS --max-time 10 -H "Authorization: Bearer $key" http://127.0.0.1:8080/api/v1/products 2>/dev/null || true)"
  python3 -c "import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get('products') else 1)" "${products:-{\}}" 2>/dev/null && break
  sleep 1
done
check "gateway lists the crawled products (/api/v1/products)" \
  python3 -c "import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get('products') else 1)" "${products:-{\}}"
echo "figure: first crawled products at the gateway after $(( $(date +%s) - t ))s"
state="$(podman inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$crawl" 2>/dev/null || echo gone)"
check "the crawl CronJob's container runs or exited 0 ($state)" bash -c "[[ '$state' == 'running '* || '$state' == 'exited 0' ]]"
podman logs --tail 3 "$crawl" 2>&1 | cut -c1-300

echo "figure: images test total $(( $(date +%s) - t0 ))s"
if [ "$failures" -gt 0 ]; then echo "images_test: $failures check(s) failed" >&2; exit 1; fi
echo "images_test: all checks passed"

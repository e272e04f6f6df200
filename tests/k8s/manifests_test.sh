#!/usr/bin/env bash
# The rendered manifests pass every check, and the checker really catches what it claims to: each
# deliberate breakage of a copy of k8s/ must be reported.
set -uo pipefail
RUNFILES="$(pwd)"  # k8s/, deploy/local/env.sh, tests/k8s/ (as symlinks, which kustomize does not follow)
CHECK="$RUNFILES/tests/k8s/check_manifests.py"
ROOT="$(mktemp -d "${TEST_TMPDIR:-/tmp}/repo.XXXXXX")"
mkdir -p "$ROOT/deploy/local"
cp -rL "$RUNFILES/k8s" "$ROOT/"
cp -L "$RUNFILES/deploy/local/env.sh" "$ROOT/deploy/local/"
export HOME="${TEST_TMPDIR:-/tmp}"  # kubectl wants a writable home for its cache
command -v kubectl >/dev/null || { echo "FAIL: kubectl is not installed (needed for kubectl kustomize)"; exit 1; }
python3 -c 'import yaml' || { echo "FAIL: python3-yaml is not installed"; exit 1; }

failures=0
if ! python3 "$CHECK" "$ROOT"; then
  echo "FAIL: the committed manifests do not pass"
  failures=$((failures + 1))
fi

# broken <description> <expected message> <sed script> <file under k8s/>
broken() {
  local what="$1" expect="$2" script="$3" file="$4" copy
  copy="$(mktemp -d "${TEST_TMPDIR:-/tmp}/k8s.XXXXXX")"
  mkdir -p "$copy/deploy/local"
  cp -r "$ROOT/k8s" "$copy/"
  cp "$ROOT/deploy/local/env.sh" "$copy/deploy/local/"
  chmod -R u+w "$copy"
  sed -i "$script" "$copy/k8s/$file"
  out="$(python3 "$CHECK" "$copy" 2>&1)"
  if [ $? -eq 0 ] || ! grep -q -- "$expect" <<<"$out"; then
    echo "FAIL: breakage not caught: $what (wanted \"$expect\"); checker said:"
    echo "$out" | tail -5
    failures=$((failures + 1))
  else
    echo "ok: caught $what"
  fi
}

broken "a missing readiness probe" "no readinessProbe" '/readinessProbe:/,/failureThreshold: 2/d' base/analyzer.yaml
broken "a wrong gRPC port" "grpc port 50099" 's/containerPort: 50054/containerPort: 50099/' base/recommender.yaml
broken "a root container" "readOnlyRootFilesystem must be true" '0,/readOnlyRootFilesystem: true/s//readOnlyRootFilesystem: false/' base/gateway.yaml
broken "no resource limits" "no resources.limits.memory" '/limits:/,+2d' base/marketplace.yaml
broken "a committed Secret value" "Secret" '$a ---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\nstringData:\n  password: hunter2' base/config.yaml
broken "a password in the ConfigMap" "holds a password" 's/connect_timeout=5$/connect_timeout=5 password=hunter2/' base/config.yaml
broken "a Service selecting nothing" "matches no pods" '/^  selector:$/{n;s/name: collector$/name: colector/}' base/collector.yaml
broken "no default deny" "no default-deny NetworkPolicy" 's/name: default-deny-all/name: default-deny-all\n  labels: {x: y}/; s/policyTypes: \["Ingress", "Egress"\]$/policyTypes: ["Ingress"]/' base/network-policies.yaml
broken "an HPA scaling nothing" "does not exist" '/scaleTargetRef:/,/name: analyzer/s/name: analyzer/name: analyser/' base/analyzer.yaml
broken "a CronJob whose runs can pile up" "concurrencyPolicy must be Forbid or Replace" '0,/concurrencyPolicy: Forbid/s//concurrencyPolicy: Allow/' base/cronjobs.yaml
broken "an unbounded training run" "no activeDeadlineSeconds" '/activeDeadlineSeconds: 7200/d' base/cronjobs.yaml
broken "training that never promotes" "does not pass --promote" 's/"--register", "--promote", /"--register", /' base/cronjobs.yaml
broken "no training CronJob" "no CronJob runs the recommender's training" 's/args: \["train", /args: ["evaluate", /' base/cronjobs.yaml
broken "a job with no egress policy" "no egress NetworkPolicy selects its pods" '/^  name: train-egress$/,/^---$/s/name: train$/name: trainer/' base/network-policies.yaml
broken "training reaching Redis" "lets training reach more than Postgres" '/^  name: train-egress$/,/^---$/s/name: postgres$/name: redis/' base/network-policies.yaml
broken "a public registry's image" "is not one deploy/images/build.sh builds" '/name: redis, newName: marketlens\/redis/d' overlays/prod/kustomization.yaml
broken "an image of another build" "images carry different tags" 's/{name: marketlens\/gateway, newTag: dev}/{name: marketlens\/gateway, newTag: abc123}/' overlays/dev/kustomization.yaml

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "manifests_test: all checks passed"

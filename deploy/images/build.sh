#!/usr/bin/env bash
# Builds every marketlens image from the committed tree with whichever builder this machine has
# (docker with a running engine, else podman, else buildah):
#   1. a Debian 12 base made with debootstrap (deploy/images/base.sh; no registry needed),
#   2. ONE shared build stage (deploy/docker/build.Dockerfile): one offline Bazel build of every binary,
#      with the host's Bazel disk cache mounted (podman/buildah), then a runtime root per service image,
#   3. the service images FROM scratch (deploy/docker/<image>.Dockerfile) and the local postgres and redis
#      images from Debian's packages,
# then checks each image's size against its budget (deploy/images/images.txt; over budget fails) and writes
# an SBOM per image (dpkg packages with versions, binaries' sha256) to OUT/<image>.sbom.txt.
#
#   deploy/images/build.sh [--out DIR] [--tag TAG]... [--only IMAGE]... [--dry-run]
# Images are tagged marketlens/<image>:<commit> (12 hex digits of HEAD) plus any --tag (e.g. --tag dev, which
# the dev overlay uses). The build context is `git archive HEAD`: uncommitted changes, .run/ (the local
# stack's data and secrets), bazel-* trees and .git never reach an image. OUT defaults to .run/images/<commit>.
# Env: MARKETLENS_IMAGE_BUILDER (docker|podman|buildah), MARKETLENS_BAZEL_DISK_CACHE (deploy/local/env.sh),
# MARKETLENS_BASE_IMAGE (use an existing Debian 12 image instead of the debootstrap one).
# --dry-run prints the builder commands instead of running them (no image is built or needed).
# Tested for real with podman and buildah (tests/images); the docker path only with --dry-run, as the team's
# machines have no Docker engine: it says so when it runs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source deploy/local/env.sh

out="" extra_tags=() only=() dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --tag) extra_tags+=("$2"); shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

builder="${MARKETLENS_IMAGE_BUILDER:-}"
if [ -z "$builder" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then builder=docker
  elif command -v podman >/dev/null; then builder=podman
  elif command -v buildah >/dev/null; then builder=buildah
  else echo "build.sh: no image builder (docker with an engine, podman or buildah; apt-get install buildah podman)" >&2; exit 1
  fi
fi
if [ "$builder" = docker ]; then
  echo "build.sh: note: the docker path is UNTESTED (no Docker engine on the team's machines; only --dry-run is" \
       "checked); podman and buildah are tested. Docker cannot mount the Bazel disk cache into the build" \
       "stage, so every commit rebuilds the binaries there (~20 min on 2 cores)." >&2
fi
# podman/buildah on small VMs: no default ulimits, runc, cgroupfs (deploy/images/containers.conf).
if [ "$builder" != docker ]; then export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/images/containers.conf}"; fi

tag="$(git rev-parse --short=12 HEAD)"
out="${out:-$ROOT/.run/images/$tag}"
mkdir -p "$out"
base_image="${MARKETLENS_BASE_IMAGE:-localhost/marketlens/debian:bookworm}"
build_image="localhost/marketlens/build:$tag"
if ! git diff --quiet HEAD -- 2>/dev/null; then
  echo "build.sh: note: uncommitted changes are not in the images (the context is git archive HEAD)" >&2
fi

# images.txt: name budget entrypoint contents...
declare -A budget contents entrypoint
names=()
while read -r name mib ep rest; do
  case "$name" in ''|'#'*) continue ;; esac
  names+=("$name"); budget[$name]="$mib"; contents[$name]="$rest"; entrypoint[$name]="$ep"
done <deploy/images/images.txt
if [ ${#only[@]} -gt 0 ]; then names=("${only[@]}"); fi
service_images=() targets=()
for n in "${names[@]}"; do
  [ -n "${budget[$n]:-}" ] || { echo "build.sh: no image $n in deploy/images/images.txt" >&2; exit 2; }
  [ "${contents[$n]}" = - ] && continue
  grep -qF "ENTRYPOINT [\"${entrypoint[$n]}\"]" "deploy/docker/$n.Dockerfile" \
    || { echo "build.sh: deploy/docker/$n.Dockerfile does not say ENTRYPOINT [\"${entrypoint[$n]}\"] (images.txt)" >&2; exit 1; }
  service_images+=("$n")
  for item in ${contents[$n]}; do case "$item" in //*) targets+=("$item") ;; esac; done
done

# The build stage's package list stays within deploy/local/install_deps.sh's.
for p in $(sed -n '/apt-get install/,/ca-certificates/p' deploy/docker/build.Dockerfile | tr -d '\\' | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm)$'); do
  tr -s ' ()' '\n\n\n' <deploy/local/install_deps.sh | grep -qxF -- "$p" \
    || { echo "build.sh: $p (deploy/docker/build.Dockerfile) is not in deploy/local/install_deps.sh" >&2; exit 1; }
done
# ...and holds every -dev package the local build needs, or the image build fails half an hour in.
missing_dev="$(comm -23 <(grep -oE '[a-z0-9.+-]+-dev\b' deploy/local/install_deps.sh | sort -u) \
                        <(grep -oE '[a-z0-9.+-]+-dev\b' deploy/docker/build.Dockerfile | sort -u) | tr '\n' ' ')"
[ -z "$missing_dev" ] \
  || { echo "build.sh: deploy/docker/build.Dockerfile lacks $missing_dev(deploy/local/install_deps.sh)" >&2; exit 1; }

# Every builder command goes through x: with --dry-run it is printed (to stderr) instead of run.
x() {
  if [ "$dry_run" = 1 ]; then { printf '+'; printf ' %q' "$@"; printf '\n'; } >&2; else "$@"; fi
}
build() {  # image-ref dockerfile [build args...]
  local ref="$1" file="$2"; shift 2
  local tags=(-t "$ref")
  local extra
  for extra in "${extra_tags[@]}"; do tags+=(-t "${ref%:*}:$extra"); done
  case "$builder" in
    docker) DOCKER_BUILDKIT=1 x docker build -q "${tags[@]}" -f "$file" "$@" "$ctx" >/dev/null ;;
    podman) x podman build -q --layers --pull=never --network=host --isolation=chroot "${tags[@]}" -f "$file" "$@" "$ctx" >/dev/null ;;
    buildah) x buildah bud -q --layers --pull=never --network=host --isolation=chroot "${tags[@]}" -f "$file" "$@" "$ctx" >/dev/null ;;
  esac
}
image_size() {  # ref -> bytes
  case "$builder" in
    docker) docker image inspect -f '{{.Size}}' "$1" ;;
    podman) podman image inspect -f '{{.Size}}' "$1" ;;
    # buildah's own size is a rounded string ("34.1 MB"): the manifest's layers and config, in bytes,
    # as podman counts them.
    buildah) buildah inspect --type image "$1" | python3 -c 'import json,sys
m = json.loads(json.load(sys.stdin)["Manifest"])
print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])' ;;
  esac
}
run_in() {  # image entrypoint args... (stdout of a throwaway container)
  local image="$1" ep="$2"; shift 2
  case "$builder" in
    docker) x docker run --rm --network=none --entrypoint "$ep" "$image" "$@" ;;
    podman) x podman run --rm --network=none --entrypoint "$ep" "$image" "$@" ;;
    buildah) if [ "$dry_run" = 1 ]; then x buildah from -q --pull=never "$image"; x buildah run --isolation=chroot C -- "$ep" "$@"; return; fi
             local c; c="$(buildah from -q --pull=never "$image")"
             buildah run --isolation=chroot "$c" -- "$ep" "$@"; buildah rm "$c" >/dev/null ;;
  esac
}
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

ctx="$(mktemp -d /tmp/marketlens-image-context.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
git archive HEAD | tar -x -C "$ctx"

t0=$(date +%s)
if [ -z "${MARKETLENS_BASE_IMAGE:-}" ]; then x bash deploy/images/base.sh "$builder" "$base_image"; fi
echo "build.sh: builder $builder, tag $tag, base $base_image ($(elapsed "$t0"))" >&2

if [ ${#service_images[@]} -gt 0 ]; then
  t=$(date +%s)
  vol=()
  if [ "$builder" != docker ]; then mkdir -p "$BAZEL_DISK_CACHE"; vol=(--volume "$BAZEL_DISK_CACHE:/bazel-disk"); fi
  build "$build_image" deploy/docker/build.Dockerfile "${vol[@]}" --build-arg BASE_IMAGE="$base_image" \
    --build-arg BAZEL_TARGETS="$(printf '%s\n' "${targets[@]}" | sort -u | tr '\n' ' ')" \
    --build-arg IMAGES="${service_images[*]}"
  echo "build.sh: build stage $build_image ($(elapsed "$t"))" >&2
  if [ "$dry_run" = 1 ]; then run_in "$build_image" tar -C /images -c "${service_images[@]/%//sbom.txt}"
  else run_in "$build_image" tar -C /images -c "${service_images[@]/%//sbom.txt}" | tar -x -C "$out"; fi
fi

failures=0
rm -f "$out/sizes.txt.tmp"
for n in "${names[@]}"; do
  t=$(date +%s)
  ref="localhost/marketlens/$n:$tag"
  if [ "${contents[$n]}" = - ]; then
    build "$ref" "deploy/docker/$n.Dockerfile" --build-arg BASE_IMAGE="$base_image"
    if [ "$dry_run" = 1 ]; then run_in "$ref" dpkg-query -W; continue; fi
    { echo "# image: $n"; echo "# packages (dpkg name version architecture)"
      run_in "$ref" dpkg-query -W -f='${Package} ${Version} ${Architecture}\n'; } >"$out/$n.sbom.txt"
  else
    build "$ref" "deploy/docker/$n.Dockerfile" --build-arg BUILD_IMAGE="$build_image"
    [ "$dry_run" = 1 ] && continue
    mv "$out/$n/sbom.txt" "$out/$n.sbom.txt" && rmdir "$out/$n"
  fi
  size=$(image_size "$ref"); mib=$(( (size + 1048575) / 1048576 ))
  verdict=ok
  if [ "$mib" -gt "${budget[$n]}" ]; then verdict="OVER BUDGET"; failures=$((failures + 1)); fi
  printf 'image: %-40s %4d MiB (budget %4d MiB) %s, %s\n' "$ref" "$mib" "${budget[$n]}" "$verdict" "$(elapsed "$t")"
  printf '%s %s %s\n' "$ref" "$mib" "${budget[$n]}" >>"$out/sizes.txt.tmp"
done
if [ "$dry_run" = 1 ]; then echo "build.sh: dry run ($builder): nothing built" >&2; exit 0; fi
mv "$out/sizes.txt.tmp" "$out/sizes.txt"
# Only this commit's build stage is kept (its layers make the next build quick); older ones go.
if [ "$builder" != docker ]; then
  # (buildah's images template names the repository .Name, podman's .Repository)
  fmt='{{.Repository}}:{{.Tag}}'; [ "$builder" = buildah ] && fmt='{{.Name}}:{{.Tag}}'
  for old in $($builder images --format "$fmt" 2>/dev/null | grep '^localhost/marketlens/build:' | grep -v ":$tag$"); do
    $builder rmi "$old" >/dev/null 2>&1 || true
  done
fi
echo "build.sh: $((${#names[@]})) images in $(elapsed "$t0"); SBOMs and sizes in $out" >&2
[ "$failures" -eq 0 ] || { echo "build.sh: $failures image(s) over budget" >&2; exit 1; }

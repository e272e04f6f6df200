#!/usr/bin/env bash
# Makes the Debian 12 base image the marketlens images build FROM, with no container registry: a minbase
# debootstrap of bookworm from Debian's archive, packed as a tarball with sorted names, fixed owners and
# fixed mtimes (so the same package set gives the same bytes), cached under ~/.cache/marketlens/images and
# imported into the builder's storage as $BASE_IMAGE.
#   deploy/images/base.sh BUILDER BASE_IMAGE    (BUILDER: docker | podman | buildah)
# MARKETLENS_DEBIAN_MIRROR overrides the archive (default http://deb.debian.org/debian); delete the cached
# tarball to take the archive's newest point release.
set -euo pipefail
builder="$1" image="$2"
cache="${MARKETLENS_IMAGE_CACHE:-$HOME/.cache/marketlens/images}"
mirror="${MARKETLENS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tarball="$cache/debian-bookworm-minbase.tar"

image_exists() {
  case "$builder" in
    docker) docker image inspect "$image" >/dev/null 2>&1 ;;
    podman) podman image exists "$image" ;;
    buildah) buildah inspect --type image "$image" >/dev/null 2>&1 ;;
  esac
}
image_exists && exit 0

if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || { echo "base.sh: debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
  mkdir -p "$cache"
  root="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  echo "base.sh: debootstrap --variant=minbase bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # Point releases and security updates too, as the host's apt sees them.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # Every mtime is the archive's Release date: the same archive state gives the same bytes (the contents
  # are the same from run to run; only debootstrap's own timestamps were not).
  release="$(ls "$root"/var/lib/apt/lists/*Release 2>/dev/null | head -n1)"
  epoch="$( [ -n "$release" ] && date -d "$(sed -n 's/^Date: //p' "$release" | head -n1)" +%s 2>/dev/null \
            || stat -c %Y "$root/var/lib/dpkg/status")"
  echo "base.sh: mtimes @$epoch (${release:+Release date of ${release##*/}})" >&2
  # Images do not keep apt's downloads, indexes or logs.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90marketlens"
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/var/log/* "$root"/tmp/* "$root"/etc/machine-id "$root"/var/cache/ldconfig/aux-cache
  : >"$root/etc/machine-id"
  tar -C "$root" --sort=name --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
    --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  sha256sum "$tarball" | tee "$tarball.sha256" >&2
fi

echo "base.sh: importing $tarball as $image" >&2
case "$builder" in
  docker) docker import "$tarball" "$image" >/dev/null ;;
  podman) podman import "$tarball" "$image" >/dev/null ;;
  buildah)
    c="$(buildah from scratch)"
    buildah add "$c" "$tarball" / >/dev/null
    buildah config --cmd /bin/bash "$c"
    buildah commit -q "$c" "$image" >/dev/null
    buildah rm "$c" >/dev/null ;;
esac

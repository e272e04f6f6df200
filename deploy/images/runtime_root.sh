#!/usr/bin/env bash
# Runs inside the shared build stage (deploy/docker/build.Dockerfile): assembles one root filesystem per
# service image under OUT/<image>/rootfs from the binaries Bazel built (BIN_DIR/<package>/<name>):
#   /app/<binaries>, extra repo files (images.txt), the files of exactly the Debian packages that provide
#   the binaries' shared libraries (ldd -> dpkg -S; docs, man pages and translations left out, copyright
#   files kept), /etc/passwd and /etc/group with the non-root user 65532, /tmp, the CA bundle, and the
#   packages' dpkg records under /var/lib/dpkg/status.d (so image scanners see them).
# and OUT/<image>/sbom.txt: every package with its version, and each binary's sha256.
#   runtime_root.sh BIN_DIR OUT IMAGE...
set -euo pipefail
bin_dir="$1" out="$2"; shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# The package that owns a library path; Debian 12 registers most under /lib, the loader finds them
# under /usr/lib or /lib64 too (merged /usr), so try the spellings.
owner_of() {
  local p="$1" real cand
  real="$(readlink -f "$p")"
  for cand in "$p" "$real" "${p#/usr}" "/usr$p" "${real#/usr}" "/usr$real"; do
    dpkg -S "$cand" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  echo "runtime_root.sh: no Debian package owns $p" >&2
  return 1
}

for image in "$@"; do
  line="$(grep -E "^$image[[:space:]]" "$here/images.txt")" || { echo "runtime_root.sh: $image not in images.txt" >&2; exit 1; }
  read -r -a fields <<<"$line"
  root="$out/$image/rootfs"
  rm -rf "$out/$image"; mkdir -p "$root/app" "$root/tmp" "$root/etc/ssl/certs" "$root/var/lib/dpkg/status.d"
  chmod 1777 "$root/tmp"
  bins=()
  for item in "${fields[@]:3}"; do
    case "$item" in
      //*) p="${item#//}"; src="$bin_dir/${p%%:*}/${p#*:}"
           install -m 0755 "$src" "$root/app/${p#*:}"; bins+=("$root/app/${p#*:}") ;;
      *=*) mkdir -p "$root${item#*=}"; cp -r "$repo/${item%%=*}/." "$root${item#*=}/" ;;
    esac
  done
  # Packages: every shared library any binary loads, and the CA certificates (the bundle file itself is
  # generated at install time, so it is copied from this stage).
  pkgs="$(for b in "${bins[@]}"; do
            ldd "$b" | awk '/=>/ {print $3} /^[[:space:]]*\/[^ ]*ld-linux/ {print $1}' | grep '^/' \
              | while read -r lib; do owner_of "$lib"; done
          done; echo ca-certificates)"
  pkgs="$(sort -u <<<"$pkgs")"
  for pkg in $pkgs; do
    dpkg -L "$pkg" | while read -r f; do
      case "$f" in
        /usr/share/doc/*/copyright) ;;
        /usr/share/doc/*|/usr/share/man/*|/usr/share/info/*|/usr/share/lintian/*|/usr/share/locale/*|/usr/share/bug/*) continue ;;
      esac
      if [ -L "$f" ] || [ -f "$f" ]; then cp -a --parents "$f" "$root/"; fi
    done
    dpkg -s "$pkg" | grep -vE '^(Status|Conffiles|Description|Homepage| )' >"$root/var/lib/dpkg/status.d/$pkg"
  done
  # merged /usr: the loader path the binaries were linked against (/lib64/ld-linux-x86-64.so.2) and /lib.
  for d in lib lib64 bin sbin; do
    if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then mkdir -p "$root/usr/$d"; cp -a "$root/$d/." "$root/usr/$d/"; rm -rf "${root:?}/$d"; fi
    [ -d "$root/usr/$d" ] && ln -s "usr/$d" "$root/$d"
  done
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  mkdir -p "$root/home/nonroot" && chown 65532:65532 "$root/home/nonroot"
  {
    echo "# image: $image"
    echo "# packages (dpkg name version architecture)"
    for pkg in $pkgs; do dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' "$pkg"; done
    echo "# binaries (sha256 path)"
    (cd "$root" && find app -maxdepth 1 -type f -exec sha256sum {} + | sort -k2)
  } >"$out/$image/sbom.txt"
  echo "runtime_root.sh: $image: $(echo $pkgs | wc -w) packages, $(du -sm "$root" | cut -f1) MiB" >&2
done

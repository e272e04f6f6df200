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

# The packages that own the binaries' shared libraries (ldd), with one dpkg -S for all of them (it reads
# every package's file list on each call). Debian 12 registers most libraries under /lib while the loader
# may report /usr/lib or /lib64 (merged /usr), so each library is looked up under every spelling.
owners_of_libraries() {  # binary...
  local libs lib real cand found
  libs="$(for b in "$@"; do
            ldd "$b" | awk '/=>/ {print $3} /^[[:space:]]*\/[^ ]*ld-linux/ {print $1}' | grep '^/'
          done | sort -u)"
  declare -A owner=()
  local -a cands=()
  for lib in $libs; do
    real="$(readlink -f "$lib")"
    cands+=("$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real")
  done
  while IFS= read -r line; do
    owner["${line#*: }"]="${line%%:*}"
  done < <(dpkg -S "${cands[@]}" 2>/dev/null | grep -v '^diversion')
  for lib in $libs; do
    real="$(readlink -f "$lib")"; found=""
    for cand in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
      if [ -n "${owner[$cand]:-}" ]; then found="${owner[$cand]}"; break; fi
    done
    [ -n "$found" ] || { echo "runtime_root.sh: no Debian package owns $lib" >&2; return 1; }
    echo "$found"
  done
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
  pkgs="$(owners_of_libraries "${bins[@]}")"
  pkgs="$(printf '%s\nca-certificates\n' "$pkgs" | sort -u)"
  # The packages' files (their directories and symlinks too) under their merged-/usr paths: on Debian 12
  # /lib, /lib64, /bin and /sbin are symlinks into /usr, and those symlinks come along as they are.
  for pkg in $pkgs; do
    dpkg -s "$pkg" | grep -vE '^(Status|Conffiles|Description|Homepage| )' >"$root/var/lib/dpkg/status.d/$pkg"
  done
  # shellcheck disable=SC2086
  dpkg -L $pkgs | grep '^/' \
    | grep -vE '^/usr/share/(man|info|lintian|locale|bug)/' | awk '!/^\/usr\/share\/doc\/[^\/]+\/./ || /\/copyright$/' \
    | sed -E 's#^/(lib|lib64|lib32|libx32|bin|sbin)/#/usr/\1/#; s#^/##' | grep -v '^\.\?$' | sort -u \
    | tar -C / --no-recursion -cf - -T - | tar -C "$root" -xf -
  # merged /usr, as Debian 12: the loader path the binaries were linked against (/lib64/ld-linux-x86-64.so.2).
  for d in lib lib64 bin sbin; do
    if [ -d "$root/usr/$d" ] && [ ! -e "$root/$d" ]; then ln -s "usr/$d" "$root/$d"; fi
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

#!/usr/bin/env bash
# Builds the local stand-in for a .NET runtime-deps base image: Debian bookworm, extracted by mmdebstrap
# and trimmed by charts/tools/base-rootfs.sh (no shell), as an OCI image layout with one manifest per
# architecture under one index, tag 12. Cached: a second run with the same inputs prints the cached
# layout at once. Prints the layout's directory on stdout; progress goes to stderr.
#   base-image.sh [--refresh] amd64 [arm64]     (--refresh: build again, e.g. for Debian security updates)
# Needs mmdebstrap, dpkg-deb, gzip, sha256sum (charts/tools/build-images.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
refresh=false
if [[ "${1:-}" == --refresh ]]; then refresh=true; shift; fi
[[ $# -gt 0 ]] || { echo "usage: base-image.sh [--refresh] ARCH..." >&2; exit 2; }

suite=bookworm
mirror="${CRNP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${CRNP_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# libc, the C++ runtime and OpenSSL the .NET runtime loads; zlib (compression); CA roots (TLS to Redis,
# OTLP, the Kubernetes API); zoneinfo (TimeZoneInfo); netbase (/etc/services, /etc/protocols).
# No ICU: every project sets InvariantGlobalization (Directory.Build.props).
include=libc6,libgcc-s1,libstdc++6,libssl3,zlib1g,ca-certificates,tzdata,netbase

cache="${CRNP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crnpcloud/tools}/base-image"
key="$( { cat "$here/base-rootfs.sh" "${BASH_SOURCE[0]}"; echo "$suite $mirror $security $include $*"; } | sha256sum | cut -c1-16)"
layout="$cache/$key"
if [[ "$refresh" == false && -f "$layout/index.json" ]]; then
  echo "base-image: cached $layout" >&2
  echo "$layout"
  exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/oci/blobs/sha256"

# Writes stdin as a blob of the layout; prints "DIGEST SIZE".
blob() {
  local tmp="$work/blob.tmp" digest
  cat > "$tmp"
  digest="$(sha256sum "$tmp" | cut -d' ' -f1)"
  mv "$tmp" "$work/oci/blobs/sha256/$digest"
  echo "sha256:$digest $(stat -c %s "$work/oci/blobs/sha256/$digest")"
}

manifests=()
for arch in "$@"; do
  case "$arch" in amd64|arm64) ;; *) echo "base-image: unsupported architecture $arch (amd64, arm64)" >&2; exit 2 ;; esac
  echo "base-image: debian $suite $arch: $include" >&2
  root="$work/root-$arch"
  # The extract variant runs no maintainer script, so a foreign architecture needs no emulator.
  mmdebstrap --quiet --variant=extract --format=directory --architectures="$arch" --include="$include" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --extract-hook="bash '$here/base-rootfs.sh' packages \"\$1\"" \
    "$suite" "$root" "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" >&2
  bash "$here/base-rootfs.sh" trim "$root"

  tar --sort=name --numeric-owner --mtime="@$(date +%s)" --clamp-mtime \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$root" -cf "$work/rootfs.tar" .
  diff_id="sha256:$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)"
  read -r layer layer_size < <(gzip -n -6 < "$work/rootfs.tar" | blob)
  rm -rf "$root" "$work/rootfs.tar"

  read -r config config_size < <(printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP_UID=1654"],"User":"1654","WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"charts/tools/base-image.sh: debian %s, %s"}]}' \
    "$arch" "$diff_id" "$suite" "$include" | blob)
  read -r manifest manifest_size < <(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" | blob)
  manifests+=("$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}' "$manifest" "$manifest_size" "$arch")")
  echo "base-image: $arch layer $layer_size bytes compressed" >&2
done

list="$(IFS=,; echo "${manifests[*]}")"
read -r index index_size < <(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$list" | blob)
printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"12"}}]}' \
  "$index" "$index_size" > "$work/oci/index.json"

rm -rf "$layout"
mv "$work/oci" "$layout"
echo "$layout"

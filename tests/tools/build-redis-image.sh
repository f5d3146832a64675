#!/usr/bin/env bash
# Builds the Redis image the container tests run (no image hub here): Debian bookworm's redis-server
# in a minimal root filesystem made by mmdebstrap, imported into podman as
# localhost/crnpcloud-test-redis:bookworm. A no-op when that image already exists.
# Usage: tests/tools/build-redis-image.sh   (needs root, podman and mmdebstrap; installs them when missing)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
image="localhost/crnpcloud-test-redis:bookworm"

bash "$root/charts/tools/ensure-packages.sh" mmdebstrap=mmdebstrap
# shellcheck source=../../charts/tools/podman-env.sh
source "$root/charts/tools/podman-env.sh"

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
echo "build-redis-image: mmdebstrap bookworm + redis-server${mirror:+ from $mirror}" >&2
mmdebstrap --quiet --variant=essential --include=redis-server \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  bookworm "$work/rootfs.tar" ${mirror:+"$mirror"} >&2
podman import --quiet \
  --change 'ENTRYPOINT ["/usr/bin/redis-server"]' \
  --change 'USER 999:999' \
  --change 'WORKDIR /data' \
  "$work/rootfs.tar" "$image" >/dev/null
echo "$image"

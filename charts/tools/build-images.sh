#!/usr/bin/env bash
# Builds the images of edge, ingest, delivery and operator from their one container definition
# (services/Container.props) with the .NET SDK's container support: no Dockerfile, no daemon.
#
#   build-images.sh [--tag T] [--registry R] [--platform linux-x64|linux-arm64]...
#                   [--base-image IMAGE] [--refresh-base] [--image NAME[:TAG] [--push]] [--load]
#   build-images.sh --skaffold      (skaffold's custom builder: --image $IMAGE, $PUSH_IMAGE, $PLATFORMS)
#
#   --tag T          image tag (default: the file VERSION at the repository root)
#   --registry R     push to R (host[:port][/path]) instead of writing archives; a registry without
#                    TLS must be listed in DOTNET_CONTAINER_INSECURE_REGISTRIES (;-separated; localhost needs not)
#   --platform P     runtime identifier; repeat for several (default: this machine's). Each platform is
#                    its own image: the first as crnpcloud-NAME.tar / tag T, the others as
#                    crnpcloud-NAME-P.tar / tag T-P (no multi-arch index yet)
#   --base-image B   base image, e.g. mcr.microsoft.com/dotnet/runtime-deps:10.0 where a hub is reachable;
#                    without it a Debian bookworm base without a shell is built (charts/tools/base-image.sh,
#                    cached) and served from a throwaway docker-registry on 127.0.0.1
#   --refresh-base   rebuild that cached base (Debian security updates)
#   --image N[:T]    build only the image named N (skaffold's custom builder passes $IMAGE); it goes to
#                    the registry part of N with --push (or PUSH_IMAGE=true), else it is loaded into
#                    the local docker (podman where there is no docker) and tagged N
#   --output DIR     where the archives go (default artifacts/images)
#   --load           podman load each archive written (with charts/tools/podman-env.sh)
#   -- ARGS          passed on to every dotnet publish (e.g. -- -p:PublishReadyToRun=true)
#
# Writes artifacts/images/crnpcloud-{edge,ingest,delivery,operator}.tar (podman/docker load).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

declare -A projects=(
  [edge]=services/CrnpCloud.Edge
  [ingest]=services/CrnpCloud.Ingest
  [delivery]=services/CrnpCloud.Delivery
  [operator]=operator/CrnpCloud.Operator
)
names=(edge ingest delivery operator)

die() { echo "build-images: $*" >&2; exit 2; }
fail() { echo "build-images: $*" >&2; exit 1; }

extra=(); tag=""; out="$repo/artifacts/images"; registry=""; platforms=(); base_image=""; refresh=(); image=""; push="${PUSH_IMAGE:-false}"; load=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --registry) registry="${2:?--registry needs a value}"; shift 2 ;;
    --platform) platforms+=("${2:?--platform needs a value}"); shift 2 ;;
    --base-image) base_image="${2:?--base-image needs a value}"; shift 2 ;;
    --refresh-base) refresh=(--refresh); shift ;;
    --image) image="${2:?--image needs a value}"; shift 2 ;;
    --push) push=true; shift ;;
    --output) out="$(realpath -m -- "${2:?--output needs a value}")"; shift 2 ;;
    --load) load=true; shift ;;
    --skaffold)
      image="${IMAGE:?--skaffold: skaffold sets IMAGE}"; push="${PUSH_IMAGE:-false}"
      # linux/amd64,linux/arm64 -> linux-x64 linux-arm64
      for platform in ${PLATFORMS//,/ }; do
        case "$platform" in linux/amd64) platforms+=(linux-x64) ;; linux/arm64) platforms+=(linux-arm64) ;; *) die "unsupported platform $platform" ;; esac
      done
      shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (--help lists them)" ;;
  esac
done

cd "$repo"

if [[ ${#platforms[@]} -eq 0 ]]; then
  case "$(uname -m)" in x86_64) platforms=(linux-x64) ;; aarch64) platforms=(linux-arm64) ;; *) die "no default platform for $(uname -m)" ;; esac
fi
arches=()
for rid in "${platforms[@]}"; do
  case "$rid" in linux-x64) arches+=(amd64) ;; linux-arm64) arches+=(arm64) ;; *) die "unsupported platform $rid (linux-x64, linux-arm64)" ;; esac
done

[[ -n "$tag" ]] || tag="$(tr -d '[:space:]' < VERSION)"
[[ -n "$tag" ]] || die "no --tag and an empty VERSION"

# --image NAME[:TAG]: one image, named as skaffold wants it.
if [[ -n "$image" ]]; then
  name_part="${image##*/}"
  if [[ "$name_part" == *:* ]]; then tag="${name_part##*:}"; name_part="${name_part%%:*}"; fi
  short="${name_part#crnpcloud-}"
  [[ -n "${projects[$short]:-}" ]] || die "--image $image: not one of crnpcloud-{${names[*]// /,}}"
  names=("$short")
  if [[ "$image" == */* && "$push" == true ]]; then registry="${image%/*}"; fi
  [[ ${#platforms[@]} -le 1 ]] || die "--image builds one platform at a time (a multi-arch index is not built yet)"
fi

command -v dotnet >/dev/null || die "the .NET SDK is needed (dotnet on PATH; see global.json)"
tools=(git=git gzip=gzip)
[[ -z "$base_image" ]] && tools+=(mmdebstrap=mmdebstrap dpkg-deb=dpkg skopeo=skopeo docker-registry=docker-registry curl=curl)
bash "$here/ensure-packages.sh" "${tools[@]}"

revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || true)"
work="$(mktemp -d)"
registry_pid=""
cleanup() {
  if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A docker-registry on a free 127.0.0.1 port, for this run only; sets registry_pid and base_port.
start_registry() {
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\nhttp:\n  addr: 127.0.0.1:%s\n' "$work" "$port" > "$work/registry.yml"
    docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 50); do
      if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then base_port=$port; return 0; fi
      kill -0 "$registry_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; registry_pid=""
  done
  cat "$work/registry.log" >&2 || true
  fail "could not start docker-registry on 127.0.0.1"
}

local_base=""
if [[ -z "$base_image" ]]; then
  local_base=true
  layout="$(bash "$here/base-image.sh" "${refresh[@]}" "${arches[@]}")"
  start_registry
  skopeo copy --quiet --all --dest-tls-verify=false "oci:$layout:12" "docker://127.0.0.1:$base_port/crnpcloud-base:12" >&2
  base_image="127.0.0.1:$base_port/crnpcloud-base:12"
  # The SDK speaks HTTPS to every registry but localhost and those listed here (SDK 10.0.401 splits the
  # list at semicolons: with a comma between two entries neither counted).
  export DOTNET_CONTAINER_INSECURE_REGISTRIES="127.0.0.1:$base_port${DOTNET_CONTAINER_INSECURE_REGISTRIES:+;$DOTNET_CONTAINER_INSECURE_REGISTRIES}"
fi

# --registry host[:port][/path]: the SDK takes the host as ContainerRegistry, the path into the repository.
registry_host=""; registry_path=""
if [[ -n "$registry" ]]; then
  registry_host="${registry%%/*}"
  [[ "$registry" == */* ]] && registry_path="${registry#*/}/"
fi

mkdir -p "$out"
written=()
started=$SECONDS
for name in "${names[@]}"; do
  for rid in "${platforms[@]}"; do
    args=(publish "${projects[$name]}" -c Release --nologo -v:quiet -r "$rid" --self-contained true -t:PublishContainer
      "-p:ContainerBaseImage=$base_image" "-p:ContainerImageTag=$tag" "-p:ContainerRepository=${registry_path}crnpcloud-$name")
    # The stand-in base's name is a throwaway 127.0.0.1 port: no org.opencontainers.image.base.name label
    # then (the base.digest label stays).
    [[ -n "$local_base" ]] && args+=("-p:ContainerGenerateLabelsImageBaseName=false")
    [[ -n "$revision" ]] && args+=("-p:SourceRevisionId=$revision")
    args+=("${extra[@]}")
    suffix=""
    [[ ${#platforms[@]} -gt 1 && "$rid" != "${platforms[0]}" ]] && suffix="-$rid"
    if [[ -n "$registry_host" ]]; then
      [[ ${#platforms[@]} -gt 1 ]] && args+=("-p:ContainerImageTag=$tag${suffix}")
      args+=("-p:ContainerRegistry=$registry_host")
      where="$registry_host/${registry_path}crnpcloud-$name:$tag$suffix"
    elif [[ -n "$image" ]]; then
      args+=("-p:ContainerArchiveOutputPath=$work/image.tar")
      where="$image in the local docker (else podman)"
    else
      archive="$out/crnpcloud-$name$suffix.tar"
      rm -f "$archive"
      args+=("-p:ContainerArchiveOutputPath=$archive")
      where="$archive"
      written+=("$archive")
    fi
    echo "build-images: crnpcloud-$name ($rid, tag $tag) -> $where" >&2
    t0=$SECONDS
    dotnet "${args[@]}" >&2 || fail "dotnet publish of ${projects[$name]} for $rid failed"
    echo "build-images: crnpcloud-$name done in $((SECONDS - t0)) s" >&2
  done
done
echo "build-images: ${#names[@]} image(s) x ${#platforms[@]} platform(s) in $((SECONDS - started)) s (base $base_image)" >&2

# --image without --push: into the local engine, under exactly the name asked for.
if [[ -n "$image" && -z "$registry_host" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker; else
    # shellcheck source=charts/tools/podman-env.sh
    source "$here/podman-env.sh"; engine=podman
  fi
  loaded="$("$engine" load --input "$work/image.tar" | sed -n 's/^Loaded image[^:]*: //p' | tail -n1)"
  [[ -n "$loaded" ]] || fail "$engine load of $work/image.tar named no image"
  "$engine" tag "$loaded" "$image"
  echo "build-images: $image in $engine" >&2
fi

if [[ "$load" == true && ${#written[@]} -gt 0 ]]; then
  # shellcheck source=charts/tools/podman-env.sh
  source "$here/podman-env.sh"
  for archive in "${written[@]}"; do podman load --quiet --input "$archive" >&2; done
fi

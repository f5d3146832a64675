#!/usr/bin/env bash
# The two steps charts/tools/base-image.sh applies to the Debian packages mmdebstrap extracts, so the
# root filesystem holds what a self-contained .NET service needs and nothing else: no shell, no package
# manager, no interpreter (perl from debconf, the openssl CLI); libraries, certificates, zoneinfo.
#   base-rootfs.sh packages ROOT   as mmdebstrap's --extract-hook (the .deb files are still in its apt cache)
#   base-rootfs.sh trim ROOT       after mmdebstrap, on its output directory
set -euo pipefail

# What CVE scanners read to know the packages (the distroless layout: one control file per package).
packages() {
  local root="$1" deb package
  mkdir -p "$root/var/lib/dpkg/status.d"
  shopt -s nullglob
  local debs=("$root"/var/cache/apt/archives/*.deb)
  if [[ ${#debs[@]} -eq 0 ]]; then
    echo "base-rootfs: no .deb files under $root/var/cache/apt/archives" >&2
    exit 1
  fi
  for deb in "${debs[@]}"; do
    package="$(dpkg-deb -f "$deb" Package)"
    { dpkg-deb -f "$deb" Package Source Version Architecture Maintainer Installed-Size Depends
      echo "Status: install ok installed"; } > "$root/var/lib/dpkg/status.d/$package"
  done
}

trim() {
  local root="$1"
  # The CA bundle ca-certificates' postinst would generate (every Mozilla root, as update-ca-certificates does).
  mkdir -p "$root/etc/ssl/certs"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"
  chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"

  # Every program (none is needed: the entrypoint is the service's apphost) and what only maintainer
  # scripts, apt and dpkg use; glibc's iconv modules (.NET does not use iconv).
  rm -rf "$root"/usr/bin "$root"/usr/sbin "$root"/bin "$root"/sbin \
    "$root"/usr/share/perl5 "$root"/usr/share/debconf "$root"/usr/lib/ssl/misc \
    "$root"/usr/share/lintian "$root"/usr/share/bash-completion "$root"/usr/share/gdb \
    "$root"/usr/share/pixmaps "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info \
    "$root"/usr/share/locale "$root"/usr/share/gcc "$root"/usr/share/ca-certificates \
    "$root"/usr/lib/*/gconv "$root"/etc/debconf.conf "$root"/etc/apt "$root"/etc/dpkg \
    "$root"/etc/ca-certificates "$root"/etc/fstab "$root"/etc/hostname "$root"/etc/resolv.conf \
    "$root"/var/lib/apt "$root"/var/cache "$root"/var/log \
    "$root"/var/lib/dpkg/info "$root"/var/lib/dpkg/alternatives "$root"/var/lib/dpkg/triggers \
    "$root"/var/lib/dpkg/updates "$root"/var/lib/dpkg/status "$root"/var/lib/dpkg/arch
  # Device nodes come from the container runtime.
  rm -rf "$root"/dev
  mkdir -p "$root/dev" "$root/usr/bin" "$root/usr/sbin" "$root/var/cache" "$root/var/log" "$root/proc" "$root/sys"

  # Users without a shell: root, and app (1654) as in Microsoft's .NET images; the chart runs uid 1654.
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n' > "$root/etc/passwd"
  printf 'root:x:0:\napp:x:1654:\n' > "$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\nservices: files\nprotocols: files\n' > "$root/etc/nsswitch.conf"
  mkdir -p "$root/home/app" "$root/root" "$root/tmp"
  chown 1654:1654 "$root/home/app"
  chmod 0700 "$root/root"
  chmod 1777 "$root/tmp"

  cat > "$root/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
OS
}

step="${1:-}"
root="${2:-}"
if [[ -z "$root" || ! -d "$root" ]] || [[ "$step" != packages && "$step" != trim ]]; then
  echo "usage: base-rootfs.sh packages|trim ROOT" >&2
  exit 2
fi
"$step" "$root"

#!/usr/bin/env bash
# Builds the docker provider's node image offline from Debian's packages:
# debootstrap a Debian root file system of the platform's suite, make it boot
# systemd with sshd, and `docker import` it. orka runs this only when the
# recipe's hash (with the suite) changed.
#   usage: build.sh IMAGE_TAG RECIPE_HASH [SUITE]   (SUITE: bookworm, trixie; default bookworm)
set -euo pipefail
tag=$1
recipe_hash=$2
here=$(cd "$(dirname "$0")" && pwd)
mirror=${ORKA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${3:-bookworm}
packages=$(grep -v '^#' "$here/packages.txt" | xargs | tr ' ' ',')

rootfs=$(mktemp -d /var/tmp/orka-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "[image] debootstrap $suite (minbase + $(echo "$packages" | tr ',' ' ' | wc -w) packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
  > "$rootfs.log" 2>&1 || { tail -30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

echo "[image] configuring systemd, sshd and the vagrant user"
cp "$here/configure.sh" "$here/container-units.txt" "$rootfs/tmp/"
chroot "$rootfs" /bin/bash /tmp/configure.sh
rm -f "$rootfs/tmp/configure.sh" "$rootfs/tmp/container-units.txt"

echo "[image] docker import as $tag"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=docker' \
  --change "LABEL orka.image=node orka.recipe=$recipe_hash orka.suite=$suite" \
  - "$tag" >/dev/null

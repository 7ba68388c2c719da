#!/usr/bin/env bash
# Builds orka's libvirt box offline from Debian's packages: debootstrap a
# bookworm root file system with a kernel, configure it as the docker node
# image is configured (vagrant/image/configure.sh) and then as a VM
# (configure.sh here), install the wheelhouse's tools into it, lay it out on a
# bootable disk without loop devices or mounts, and pack a Vagrant box.
# orka runs this only when the recipe's hash changed (orka/providers/box.py).
#   usage: build.sh BOX_FILE RECIPE_HASH WHEELHOUSE
set -euo pipefail
box_file=$1
recipe_hash=$2
wheelhouse=$3
here=$(cd "$(dirname "$0")" && pwd)
image_recipe=$here/../image
provision=$here/../provision
mirror=${ORKA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
packages=$(cat "$image_recipe/packages.txt" "$here/packages.txt" | grep -v '^#' | xargs | tr ' ' ',')
# The disk: MBR, a FAT boot partition (syslinux, kernel, initrd), an ext4 root.
# Sizes in MiB; qcow2 and the ext4 image are sparse, so only what is used is stored.
disk_mib=8192
boot_start_mib=1
boot_mib=127
root_start_mib=$((boot_start_mib + boot_mib))
root_mib=$((disk_mib - root_start_mib))

# Beside the box file (orka's cache), not in a shared temporary folder.
work=$(mktemp -d "$(dirname "$box_file")/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir "$rootfs"

echo "[box] debootstrap $suite (minbase + $(echo "$packages" | tr ',' ' ' | wc -w) packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

echo "[box] configuring systemd, sshd, the vagrant user and the VM's boot"
cp "$image_recipe/configure.sh" "$rootfs/tmp/configure-image.sh"
cp "$image_recipe/container-units.txt" "$rootfs/tmp/container-units.txt"
cp "$here/configure.sh" "$rootfs/tmp/configure-box.sh"
cp "$here/vagrant-insecure.pub" "$rootfs/tmp/vagrant-insecure.pub"
# A clean environment: the host's (PIP_FIND_LINKS, proxies, locale) is not the VM's.
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$rootfs" "$@"; }
{ in_root /bin/bash /tmp/configure-image.sh && in_root /bin/bash /tmp/configure-box.sh; } \
  > "$work/configure.log" 2>&1 || { tail -30 "$work/configure.log" >&2; exit 1; }
rm -f "$rootfs"/tmp/configure-*.sh "$rootfs/tmp/vagrant-insecure.pub" "$rootfs/tmp/container-units.txt"

# As the docker provider's tools image does: a VM under software emulation
# would spend minutes of a shared CPU installing salt at every bring-up;
# provisioning runs the same script again and finds its stamp.
echo "[box] installing the wheelhouse's tools ($(grep -v '^#' "$wheelhouse/requirements.txt" | xargs))"
mkdir -p "$rootfs/srv/orka/wheelhouse"
cp -a "$wheelhouse/." "$rootfs/srv/orka/wheelhouse/"
cp "$provision/install-tools.sh" "$rootfs/tmp/install-tools.sh"
in_root /bin/bash /tmp/install-tools.sh /srv/orka/wheelhouse > "$work/tools.log" 2>&1 \
  || { tail -30 "$work/tools.log" >&2; exit 1; }
rm -rf "$rootfs/srv/orka/wheelhouse" "$rootfs/tmp/install-tools.sh"
echo "$recipe_hash" > "$rootfs/etc/orka-box"

echo "[box] making the disk (${disk_mib} MiB: syslinux boot partition, ext4 root)"
kernel=$(printf '%s\n' "$rootfs"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$rootfs/boot/initrd.img-${kernel##*/vmlinuz-}
mkfs.vfat -n ORKA-BOOT -C "$work/boot.fat" $((boot_mib * 1024)) >/dev/null
mcopy -i "$work/boot.fat" "$kernel" ::/vmlinuz
mcopy -i "$work/boot.fat" "$initrd" ::/initrd.img
mcopy -i "$work/boot.fat" "$here/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$work/boot.fat"
truncate -s "${root_mib}M" "$work/root.ext4"
mkfs.ext4 -q -L orka-root -d "$rootfs" "$work/root.ext4"
truncate -s "${disk_mib}M" "$work/disk.raw"
sfdisk -q "$work/disk.raw" <<EOF
label: dos
start=$((boot_start_mib * 2048)), size=$((boot_mib * 2048)), type=e, bootable
start=$((root_start_mib * 2048)), type=83
EOF
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.fat" of="$work/disk.raw" bs=1M seek=$boot_start_mib conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$work/disk.raw" bs=1M seek=$root_start_mib conv=notrunc,sparse status=none
rm -rf "$rootfs" "$work/boot.fat" "$work/root.ext4"

echo "[box] packing $(basename "$box_file")"
mkdir "$work/box"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/box/box.img"
rm -f "$work/disk.raw"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' $((disk_mib / 1024)) > "$work/box/metadata.json"
cp "$here/Vagrantfile" "$work/box/Vagrantfile"
# Lands in the box's folder under ~/.vagrant.d: how orka knows which recipe made it.
echo "$recipe_hash" > "$work/box/orka-recipe"
tar -C "$work/box" -cf "$box_file" metadata.json Vagrantfile orka-recipe box.img

#!/usr/bin/env bash
# Makes this machine ready for orka's libvirt provider: libvirt's daemon and
# client, dnsmasq for the VMs' DHCP, qemu, vagrant with the vagrant-libvirt
# plugin, and the tools of orka's offline box (each installed only when
# missing, which needs root); then virtlogd and libvirtd running.
# Idempotent: a second run checks and does nothing.
#   usage: scripts/setup-libvirt.sh
set -euo pipefail

need=()
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v vagrant >/dev/null || need+=(vagrant)
# Debian's vagrant-libvirt package registers itself here (`vagrant plugin list` takes 2 s).
[ -e /usr/share/vagrant-plugins/plugins.d/vagrant-libvirt.json ] || need+=(vagrant-libvirt)
command -v rsync >/dev/null || need+=(rsync)  # Vagrant's synced folders on VMs
# What orka's offline box (box: orka/bookworm, vagrant/box/build.sh) is built with.
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v mcopy >/dev/null || need+=(mtools)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v syslinux >/dev/null || need+=(syslinux)
[ -e /usr/lib/syslinux/mbr/mbr.bin ] || need+=(syslinux-common)

"$(dirname "$0")/install-packages.sh" "system packages for libvirt" "${need[@]}"

if virsh -c qemu:///system version >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "orka: libvirtd is not running: sudo systemctl start libvirtd (or run this script as root)" >&2
  exit 1
fi
echo "[orka] starting virtlogd and libvirtd"
if [ -d /run/systemd/system ]; then
  systemctl start virtlogd libvirtd
else
  # No systemd on this host (a container, a build agent): run the daemons
  # ourselves, as setup-host.sh runs dockerd. Each daemonizes and keeps a pid
  # file under /run, so a second start is refused rather than doubled.
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x virtlockd >/dev/null || virtlockd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
fi
for _ in $(seq 1 60); do
  virsh -c qemu:///system version >/dev/null 2>&1 && break
  sleep 0.5
done
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  echo "orka: libvirtd did not start; try \`libvirtd --verbose\` to see why" >&2
  exit 1
fi
echo "[orka] libvirtd is running ($(virsh -c qemu:///system version | grep -i 'running hypervisor' | sed 's/.*: *//'))"

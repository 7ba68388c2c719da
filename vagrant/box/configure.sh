#!/bin/bash
# Runs inside the debootstrapped root file system (chroot) after the node
# image's own configure step (vagrant/image/configure.sh: the vagrant user,
# sudo, sshd's keys-only hardening, host keys made at first boot), and turns
# that container root into a VM's.
#   usage: configure.sh   (the insecure public key at /tmp/vagrant-insecure.pub)
set -euo pipefail

# The image's configure step masks what makes no sense in a container; a VM
# needs every one of them (udev for its devices, the root remount, a console).
grep -v '^#' /tmp/container-units.txt | xargs systemctl unmask

# No fsck at boot (pass 0): a throwaway node's disk is new, and under
# emulation the check costs a boot a dozen seconds.
echo 'LABEL=orka-root / ext4 errors=remount-ro 0 0' > /etc/fstab
# debootstrap copied the build host's name; Vagrant names each machine.
echo orka-box > /etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 orka-box\n' > /etc/hosts

# Drivers for hardware no VM here has (a third of the box): sound, graphics,
# cameras, wireless, InfiniBand, sensors... The VM's are virtio, kept.
for version in /lib/modules/*; do
  (cd "$version/kernel" && rm -rf sound drivers/gpu drivers/media drivers/infiniband drivers/iio \
    drivers/staging drivers/bluetooth drivers/isdn drivers/hwmon drivers/net/wireless drivers/net/ethernet)
  depmod "${version##*/}"
done

# The first NIC is vagrant-libvirt's management network: DHCP gives it the
# address Vagrant reaches the machine at, and the default route (apt's mirror).
# net.ifnames=0 on the kernel line makes it eth0 whatever its PCI slot. Vagrant
# configures the private network's static address itself, in a
# 50-vagrant-eth1.network file that comes before this one.
cat > /etc/systemd/network/90-orka-management.network <<'CONF'
[Match]
Name=eth0

[Network]
DHCP=ipv4
CONF
systemctl enable systemd-networkd.service systemd-resolved.service
# Nothing here waits for network-online.target; its wait would only slow boot.
systemctl disable systemd-networkd-wait-online.service

# No housekeeping that would start in the middle of a test run: an apt-daily
# holding dpkg's lock fails a method's package install, and the others only
# take CPU from machines that live for minutes.
systemctl disable apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer
systemctl mask e2scrub_reap.service

# Vagrant's well-known key logs in at first boot only: the common provisioner
# replaces authorized_keys with the cluster's own key.
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant /tmp/vagrant-insecure.pub /home/vagrant/.ssh/authorized_keys

# An initrd with only what this VM needs to find its root: small, so the
# kernel unpacks it quickly even under software emulation.
sed -i 's/^MODULES=.*/MODULES=list/' /etc/initramfs-tools/initramfs.conf
printf '%s\n' virtio_pci virtio_blk virtio_net ext4 > /etc/initramfs-tools/modules
update-initramfs -u -k all >/dev/null

# A machine id per VM, made by systemd at its first boot (the image's step
# empties it too; update-initramfs above does not need it).
: > /etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

#!/bin/bash
# Runs inside the debootstrapped root file system (chroot) at image build time.
set -euo pipefail

# The vagrant user, as on a Vagrant box, but with no key baked in: each
# cluster's own public key is mounted at /etc/ssh/authorized_keys/vagrant.
useradd --create-home --shell /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant

cat > /etc/ssh/sshd_config.d/orka.conf <<'CONF'
# Key authentication only; keys come from the cluster, not from the image.
# AuthenticationMethods keeps it so even if another file turns passwords on.
# Nothing logs in as root (everything is vagrant + sudo), so root may not at all.
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PermitRootLogin no
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u
UseDNS no
CONF
mkdir -p /etc/ssh/authorized_keys
# Host keys are made at first boot, so no two nodes share them. No RSA key:
# making one takes half a second of every boot, and every client here speaks
# ed25519 or ECDSA.
rm -f /etc/ssh/ssh_host_*
cat >> /etc/ssh/sshd_config.d/orka.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
CONF
cat > /usr/local/sbin/orka-ssh-hostkeys <<'SH'
#!/bin/sh
for type in ed25519 ecdsa; do
  key=/etc/ssh/ssh_host_${type}_key
  [ -e "$key" ] || ssh-keygen -q -t "$type" -N "" -f "$key"
done
SH
chmod 0755 /usr/local/sbin/orka-ssh-hostkeys
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/orka-hostkeys.conf <<'CONF'
[Service]
ExecStartPre=
ExecStartPre=/usr/local/sbin/orka-ssh-hostkeys
ExecStartPre=/usr/sbin/sshd -t
CONF
systemctl enable ssh.service

# Units that make no sense or hang in a container (the list beside this file, copied in by build.sh).
grep -v '^#' /tmp/container-units.txt | xargs systemctl mask 2>/dev/null || true

# A clean machine id per container, made by systemd at boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

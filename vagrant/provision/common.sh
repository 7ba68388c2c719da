#!/usr/bin/env bash
# Shared by every provider: name resolution inside the cluster and the
# cluster's SSH key for the vagrant user.
#   usage: common.sh MACHINE_NAME PUBLIC_KEY IP=NAME...   (PUBLIC_KEY '' keeps the logins)
set -euo pipefail
machine=$1
public_key=$2
shift 2

# Every machine resolves every other by name, whatever the provider's DNS does.
# (Written in place: docker bind-mounts /etc/hosts, so it cannot be replaced.)
hosts=$(grep -v '# orka-cluster$' /etc/hosts || true)
for entry in "$@"; do
  hosts+=$'\n'"${entry%%=*} ${entry#*=} # orka-cluster"
done
echo "$hosts" > /etc/hosts

# VM boxes come with Vagrant's well-known key; from now on only the
# cluster's own key logs in. (Docker nodes get it mounted by sshd's config.)
# An empty key (provider static: an existing fleet) leaves the logins alone.
if [ -n "$public_key" ]; then
  home=$(getent passwd vagrant | cut -d: -f6)
  install -d -m 0700 -o vagrant -g vagrant "$home/.ssh"
  echo "$public_key" > "$home/.ssh/authorized_keys"
  chown vagrant:vagrant "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
fi

echo "orka: $machine ready ($(. /etc/os-release && echo "$PRETTY_NAME"), $(systemctl is-system-running || true))"

#!/usr/bin/env bash
# The Ansible control node: ansible-core from the wheelhouse, the cluster's
# private key (the nodes hold only its public key: agentless), the inventory,
# and the spike's ansible.cfg as the system-wide one, so the hand commands
# (`sudo ansible all -m ping`) use it from any folder.
#   usage: ansible-master.sh PRIMARY SECONDARY...
set -euo pipefail
primary=$1
shift

bash /srv/orka/src/vagrant/provision/install-tools.sh
for tool in ansible ansible-playbook ansible-config ansible-inventory ansible-doc; do
  ln -sf "/usr/local/lib/orka-tools/bin/$tool" "/usr/local/bin/$tool"
done

install -d -m 0700 /root/.ssh
install -m 0600 /tmp/orka-upload/ssh/id_ed25519 /root/.ssh/orka_cluster
rm -rf /tmp/orka-upload

install -d /etc/ansible
ln -sfn /opt/orka/ansible/config/ansible.cfg /etc/ansible/ansible.cfg
{
  printf '[primary]\n%s\n\n[secondaries]\n' "$primary"
  printf '%s\n' "$@"
  printf '\n[nodes:children]\nprimary\nsecondaries\n\n[nodes:vars]\n'
  printf 'ansible_user=vagrant\nansible_ssh_private_key_file=/root/.ssh/orka_cluster\norka_method=ansible\n'
} > /etc/ansible/hosts
echo "orka: ansible control node ready for $(($# + 1)) nodes"

#!/usr/bin/env bash
# The Ansible control node: ansible-core from the wheelhouse, the cluster's private key (the nodes
# hold only its public key: agentless), the inventory with the scenario's vars for every node, and the
# scenario's ansible.cfg (else orka's own) as the system-wide one, so the hand commands
# (`sudo ansible all -m ping`) use it from any folder.
#   usage: ansible-master.sh CONFIG_DIR VARS_JSON PRIMARY SECONDARY...
# shellcheck source=vagrant/provision/lib.sh
. "$ORKA_PROVISION/lib.sh"
config=$1
vars=$2
primary=$3
shift 3

install_tools
link_tools ansible ansible-playbook ansible-config ansible-inventory ansible-doc ansible-vault

install -d -m 0700 /root/.ssh
install -m 0600 "$ORKA_UPLOAD/ssh/id_ed25519" /root/.ssh/orka_cluster
install -d /etc/ansible
vault_password=/etc/ansible/orka-vault-password
rm -f "$vault_password"
if [ -f "$ORKA_UPLOAD/vault/password" ]; then
  install -m 0600 "$ORKA_UPLOAD/vault/password" "$vault_password"
fi
rm -rf "$ORKA_UPLOAD"

cfg="$(dirname "${BASH_SOURCE[0]}")/ansible.cfg"
if [ -f "$config/ansible.cfg" ]; then
  cfg="$config/ansible.cfg"
fi
rm -f /etc/ansible/ansible.cfg
if [ -f "$vault_password" ]; then
  # The scenario's vault: the same config, naming the password, so every run decrypts (the hand commands too).
  python3 - "$cfg" "$vault_password" <<'PY'
import configparser, sys
config = configparser.RawConfigParser()
config.read(sys.argv[1])
if not config.has_section("defaults"):
    config.add_section("defaults")
config.set("defaults", "vault_password_file", sys.argv[2])
with open("/etc/ansible/ansible.cfg", "w") as out:
    config.write(out)
PY
else
  ln -sfn "$cfg" /etc/ansible/ansible.cfg
fi
install -d /etc/ansible/group_vars
printf '%s\n' "$vars" > /etc/ansible/group_vars/all.yml
{
  printf '[primary]\n%s\n\n[secondaries]\n' "$primary"
  printf '%s\n' "$@"
  printf '\n[nodes:children]\nprimary\nsecondaries\n\n[nodes:vars]\n'
  printf 'ansible_user=vagrant\nansible_ssh_private_key_file=/root/.ssh/orka_cluster\norka_method=ansible\n'
} > /etc/ansible/hosts
echo "orka: ansible control node ready for $(($# + 1)) nodes"

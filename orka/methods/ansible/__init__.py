"""Ansible, agentless over SSH from its control node, ansible-master."""

from orka.methods.descriptor import Descriptor, Master

# Where the control node holds the spike's Ansible folder, as the spike's hand commands name it.
CONFIG = "/opt/orka/ansible/config"
# On an existing fleet: a root-only copy of each node's login key, and each node's login for Ansible.
FLEET_KEYS = "/root/.ssh/orka_fleet"
HOST_VARS = "/etc/ansible/host_vars"
CLUSTER_KEY = "/root/.ssh/orka_cluster"  # where ansible-master.sh installs the control node's key
VAULT_PASSWORD = "/etc/ansible/orka-vault-password"  # where ansible-master.sh installs a scenario's vault password

DESCRIPTOR = Descriptor(
    name="ansible",
    summary="the Ansible method",
    order=20,
    color="#e07b39",
    entry="playbook.yml",
    orchestration="orka.methods.ansible.files:orchestration_in",
    skeleton="orka.methods.ansible.skeleton:FILES",
    method_class="orka.methods.ansible.method:AnsibleMethod",
    masters=(Master("ansible-master", "ansible-master", 11),),
    effort_patterns=("*.yml", "*.j2", "*.cfg"),
    preflight="orka.methods.ansible.files:preflight",
    provision="orka.methods.ansible.provision:provision",
    teardown_on_hosts=f"rm -rf {FLEET_KEYS} {CLUSTER_KEY} {HOST_VARS} {VAULT_PASSWORD}",
    # Its apt module installs python3-apt (with these Debian dependencies) on a node that lacks it.
    own_traces=(
        "package python3-apt",
        "package python-apt-common",
        "package distro-info-data",
        "package iso-codes",
        "package lsb-release",
    ),
)

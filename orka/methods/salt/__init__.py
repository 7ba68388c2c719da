"""SaltStack, agent-based: salt-master on orka-master, a minion on every node."""

from orka.methods.descriptor import Descriptor, Master

DESCRIPTOR = Descriptor(
    name="salt",
    summary="the SaltStack method",
    order=10,
    color="#3b6fb6",
    entry="top.sls",
    orchestration="orka.methods.salt.states:orchestration_in",
    skeleton="orka.methods.salt.skeleton:FILES",
    method_class="orka.methods.salt.method:SaltMethod",
    masters=(Master("orka-master", "salt-master", 10),),
    agent_on_nodes=True,
    effort_patterns=("*.sls", "*.jinja"),
    preflight="orka.methods.salt.files:preflight",
    provision="orka.methods.salt.provision:provision",
    units=("salt-master.service", "salt-minion.service"),
    teardown_on_hosts="rm -rf /etc/salt/gpgkeys",  # a scenario's GPG key, imported by salt-master.sh
    # The minion orka installed on an existing fleet (its unit names orka), stopped while another method runs;
    # salt-minion.sh starts it again.
    inert_on_hosts=(
        "if grep -qs 'installed by orka' /etc/systemd/system/salt-minion.service; then "
        "systemctl disable --now --quiet salt-minion; fi"
    ),
)

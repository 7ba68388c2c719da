"""What the Ansible method gives its control node: the folder, the key it reaches the nodes with, the inventory.

On an existing fleet the nodes keep their own logins (users, ports, keys may
differ): the control node gets a root-only copy of each distinct key and a
host_vars file per node, all removed at teardown.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from orka.methods.ansible import CONFIG, DESCRIPTOR, FLEET_KEYS, HOST_VARS, vault
from orka.plan import layout
from orka.plan.spec import Folder, MachineSpec, PlanInputs, Work

CONTROL = DESCRIPTOR.masters[0]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
REMOTE_SCRIPTS = layout.remote_method_dir(DESCRIPTOR.name)


def fleet_keys(nodes: tuple[MachineSpec, ...]) -> dict[str, str]:
    """Each distinct login key of the nodes, and its file name on the control node."""
    keys: dict[str, str] = {}
    for node in nodes:
        keys.setdefault(node.key, f"key-{len(keys) + 1}")
    return keys


def _host_vars(nodes: tuple[MachineSpec, ...], keys: dict[str, str]) -> str:
    """Each node's own login for Ansible (the inventory assumes vagrant and one key)."""
    parts = [
        f"install -d -m 0700 {FLEET_KEYS}",
        f"install -m 0600 {layout.REMOTE_UPLOAD}/fleet-keys/* {FLEET_KEYS}/",
        f"rm -rf {HOST_VARS}",
        f"install -d {HOST_VARS}",
    ]
    for node in nodes:
        text = (
            f"ansible_user: {node.user}\nansible_port: {node.port}\n"
            f"ansible_ssh_private_key_file: {FLEET_KEYS}/{keys[node.key]}\n"
        )
        parts.append(f"printf %s {shlex.quote(text)} > {HOST_VARS}/{node.name}.yml")
    return " && ".join(parts)


def provision(machine: MachineSpec, inputs: PlanInputs) -> Work:
    if machine.role != CONTROL.role:
        return Work()
    uploads = [("ssh/id_ed25519", inputs.control_key)]
    commands = []
    if inputs.existing_hosts:
        keys = fleet_keys(inputs.nodes)
        uploads += [(f"fleet-keys/{name}", key) for key, name in keys.items()]
        commands.append(_host_vars(inputs.nodes, keys))
    variables = json.dumps(inputs.scenario.vars, separators=(",", ":"))  # group_vars/all.yml: JSON is YAML
    script = ["bash", f"{REMOTE_SCRIPTS}/ansible-master.sh", CONFIG, variables, inputs.primary, *inputs.secondaries]
    commands.append(shlex.join(script))
    folder = inputs.scenario.folder(DESCRIPTOR.name)
    # The preflight has made sure a vault comes with its password.
    password = vault.password() if vault.encrypted_in(folder) else None
    return Work(
        folders=(Folder(str(SCRIPTS), REMOTE_SCRIPTS), Folder(str(folder), CONFIG)),
        commands=tuple(commands),
        uploads=tuple(uploads),
        contents=((vault.UPLOAD_NAME, password),) if password else (),
    )

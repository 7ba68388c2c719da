"""The plan of a cluster from its settings: the machines, and what each gets and runs at provisioning.

Written once, here and in each method's provisioning (its descriptor's
`provision`), for every provider: the Vagrantfile executes a machine's plan as
it stands (its folders, its upload, its commands), and so does the static
fleet over SSH. What a method does to a machine is the method's; what every
machine gets (name resolution, the cluster's key, the environment the scripts
read) is here.
"""

from __future__ import annotations

import ipaddress
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from orka import methods
from orka.config import NODE_ROLE, REPO_ROOT
from orka.config.fleet import Fleet, FleetHost
from orka.config.platforms import Platform
from orka.config.settings import Settings
from orka.methods.descriptor import Descriptor
from orka.plan import layout
from orka.plan.spec import ClusterSpec, Folder, MachineSpec, PlanInputs, Work
from orka.plan.state import PROVISION_DIR, ClusterPaths

STATIC = "static"


# What every machine's commands start with: where the scripts find what the host gave the machine, and the
# interpreter the tools' venv is made with (the platform's: python3.11 on a RedHat 9, whose python3 is 3.9).
def environment(platform: Platform) -> str:
    return "export " + " ".join(
        f"{name}={shlex.quote(value)}"
        for name, value in (
            ("ORKA_PROVISION", layout.REMOTE_PROVISION),
            ("ORKA_UPLOAD", layout.REMOTE_UPLOAD),
            ("ORKA_WHEELHOUSE", layout.REMOTE_WHEELHOUSE),
            ("ORKA_TOOLS", layout.REMOTE_TOOLS),
            ("ORKA_PYTHON", platform.python_package or "python3"),
        )
    )


def masters_of(selected: Sequence[str]) -> list[tuple[Descriptor, str, str, int]]:
    """(method, machine name, role, host part) of each master the selected methods need, in the methods' order."""
    return [(d, m.name, m.role, m.host_part) for d in methods.descriptors() if d.name in selected for m in d.masters]


def needs_tools(role: str, selected: Sequence[str]) -> bool:
    """Whether a machine's provisioning installs the tools: the masters, and the nodes when a method's
    agent runs there. Any other node must hold no agent: it gets neither the tools nor the wheelhouse."""
    return role != NODE_ROLE or any(methods.descriptor(name).agent_on_nodes for name in selected)


def machines_of(
    settings: Settings, subnet: ipaddress.IPv4Network | None, fleet: Fleet | None
) -> tuple[MachineSpec, ...]:
    """The masters the selected methods need, then the nodes: on the cluster's /24, or the fleet's hosts
    (whatever the subnet, None included)."""
    selected = settings.methods
    node_tools = needs_tools(NODE_ROLE, selected)
    if fleet is not None:
        by_role = {h.role: h for h in fleet.hosts if h.role != NODE_ROLE}
        masters = [
            MachineSpec(machine, role, by_role[role].address, tools=True, **_login(by_role[role]))
            for _, machine, role, _ in masters_of(selected)
        ]
        nodes = [
            MachineSpec(h.name, NODE_ROLE, h.address, primary=i == 0, tools=node_tools, **_login(h))
            for i, h in enumerate(fleet.nodes)
        ]
        return tuple(masters + nodes)
    assert subnet is not None, "a cluster of its own has its subnet"
    base = subnet.network_address
    first = layout.FIRST_NODE_HOST_PART
    masters = [
        MachineSpec(machine, role, str(base + part), tools=True) for _, machine, role, part in masters_of(selected)
    ]
    nodes = [
        MachineSpec(node, NODE_ROLE, str(base + first + i), primary=i == 0, tools=node_tools)
        for i, node in enumerate(layout.node_names(settings.cluster))
    ]
    return tuple(masters + nodes)


def _login(host: FleetHost) -> dict[str, Any]:
    return {"user": host.user, "port": host.port, "key": str(host.key)}


def _stage(upload: Path, files: Sequence[tuple[str, str]], contents: Sequence[tuple[str, str]] = ()) -> str:
    """Copy a machine's upload into its own folder, for root's eyes only; its path, or "" for none."""
    shutil.rmtree(upload, ignore_errors=True)
    if not files and not contents:
        return ""
    for relative, source in files:
        target = upload / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for relative, text in contents:
        target = upload / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(mode=0o600)
        target.write_text(text)
    for path in [upload, *upload.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return str(upload)


def plan_machine(machine: MachineSpec, inputs: PlanInputs, public_key: str, upload: Path, image: str) -> MachineSpec:
    """One machine's whole plan: what every machine gets, then each selected method's work on it."""
    selected = inputs.settings.methods
    works: list[Work] = []
    for descriptor in methods.descriptors():
        if descriptor.name in selected and descriptor.provision:
            works.append(methods.imported(descriptor.provision)(machine, inputs))
    hosts = [f"{m.ip}={m.name}" for m in inputs.machines]
    common = shlex.join(["bash", f"{layout.REMOTE_PROVISION}/common.sh", machine.name, public_key, *hosts])
    commands = [environment(inputs.platform)]
    if inputs.existing_hosts and machine.role == NODE_ROLE and inputs.scenario.leaves:
        # orka remakes no existing host between methods: it takes each node back to fresh instead.
        commands.append(shlex.join(["bash", "-ec", inputs.scenario.leaves.reset]))
    commands.append(common)
    commands += [command for work in works for command in work.commands]
    if inputs.existing_hosts and machine.role == NODE_ROLE:
        # What another method left on an existing host is made inert while this one runs (an agent stopped).
        commands += [d.inert_on_hosts for d in methods.descriptors() if d.name not in selected and d.inert_on_hosts]
    folders = [Folder(str(PROVISION_DIR), layout.REMOTE_PROVISION)]
    folders += [folder for work in works for folder in work.folders]
    files = [upload_file for work in works for upload_file in work.uploads]
    return MachineSpec(
        machine.name,
        machine.role,
        machine.ip,
        machine.primary,
        machine.tools,
        image=image,
        folders=tuple(dict.fromkeys(folders)),
        upload=_stage(upload, files, [text for work in works for text in work.contents]),
        commands=tuple(commands),
        user=machine.user,
        port=machine.port,
        key=machine.key,
    )


def build_plan(
    settings: Settings,
    *,
    name: str,
    provider: str,
    ssh_private_key: Path,
    ssh_public_key: Path | None,
    wheelhouse: Path | None,
    image: str = "",
    tools_image: str = "",
    guest: str = "",
    fleet: Fleet | None = None,
    subnet: ipaddress.IPv4Network | None = None,
) -> ClusterSpec:
    """The plan of one cluster, on the given /24 (by default its slot's); stages each machine's upload in
    the cluster's state folder."""
    paths = ClusterPaths.for_name(name)
    subnet = subnet or layout.cluster_subnet(settings.subnet, layout.cluster_slot(name))
    machines = machines_of(settings, subnet, fleet)
    inputs = PlanInputs(
        settings,
        machines,
        keys_dir=str(paths.state_dir),
        control_key=str(ssh_private_key),
        existing_hosts=provider == STATIC,
    )
    public_key = ssh_public_key.read_text().strip() if ssh_public_key else ""  # "": an existing fleet's logins stay
    planned = []
    for machine in machines:
        planned_machine = plan_machine(
            machine, inputs, public_key, paths.upload_dir / machine.name, tools_image if machine.tools else image
        )
        if machine.tools and wheelhouse is not None:
            folders = (*planned_machine.folders, Folder(str(wheelhouse), layout.REMOTE_WHEELHOUSE))
            planned_machine = replace(planned_machine, folders=folders)
        planned.append(planned_machine)
    if paths.upload_dir.exists():
        paths.upload_dir.chmod(0o700)
    return ClusterSpec(
        name=name,
        provider=provider,
        box=settings.vm_box if provider != STATIC else "",
        cpus=settings.node.cpus,
        memory_mb=settings.node.memory_mb,
        boot_timeout_s=settings.timeouts.ready_s,
        subnet="existing hosts" if fleet else str(subnet),
        machines=tuple(planned),
        ssh_private_key=str(ssh_private_key),
        ssh_public_key=str(ssh_public_key or ""),
        repo_root=str(REPO_ROOT),
        wheelhouse=str(wheelhouse or ""),
        methods=settings.methods,
        scenario=settings.scenarios[0].name,
        scenario_path=str(settings.scenarios[0].path),
        known_hosts=("none" if fleet.known_hosts is None else str(fleet.known_hosts)) if fleet else "",
        guest=guest,
        platform_name=settings.platform.name,
    )

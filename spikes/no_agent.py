"""Agentless means nothing of an agent on the nodes: the check the ansible and custom spikes share.

On orka's own machines a node of a cluster without Salt gets the plain node
image (no tools venv) and no wheelhouse, so the whole root filesystem is
searched: no salt or ansible executable, Python package or venv, no such
process, and no copy of the cluster's private key.

On provider static orka remakes no host: Salt stays installed on the fleet
after the salt method ran (and a team's hosts may hold it anyway), so the
files may be there; they are inert because orka stops and disables the
minion it installed while a method without Salt runs. There the check
asserts that no agent process runs and the minion is off.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from orka.plan.layout import REMOTE_PROVISION
from orka.providers.base import Cluster
from orka.spike import Spike

MARKER = "orka-no-agent-probe"  # names the probe's own processes, which ps lists too
# Pseudo filesystems, and orka's shared provisioning scripts (bash that every machine is given:
# they install the tools where a plan says so, but hold none of them).
SKIPPED = ("/proc", "/sys", "/dev", REMOTE_PROVISION)
# An executable (salt-minion, ansible-playbook), a package or its metadata (salt/, ansible_core-*.dist-info),
# a wheel (salt-*.whl), a config folder (/etc/salt), a unit (salt-minion.service), or any venv.
NAMES = ("salt", "salt[-_]*", "ansible", "ansible[-_]*", "pyvenv.cfg")
AGENT_PROCESS = re.compile(r"salt-minion|salt-call|\bansible", re.IGNORECASE)
SHOWN = 12  # paths named in a message; the rest are counted


def _probe() -> str:
    prune = " -o ".join(f"-path {shlex.quote(p)}" for p in SKIPPED)
    names = " -o ".join(f"-name {shlex.quote(n)}" for n in NAMES)
    walk = f"find / \\( {prune} \\) -prune -o"
    return "; ".join(
        (
            f": {MARKER}",
            f"{walk} \\( {names} \\) -printf 'file %p\\n' -prune",
            # Any private key in a small file, by its hash: the key itself never leaves the node.
            f"{walk} -type f -size -64k -print0 | xargs -0 -r grep -lsF -e 'PRIVATE KEY-----' -- "
            '| while IFS= read -r f; do echo "key $(sha256sum < "$f" | cut -d\' \' -f1) $f"; done',
            "ps -eo pid=,args= | sed 's/^ */process /'",
            "printf 'minion %s %s\\n' \"$(systemctl is-active salt-minion 2>/dev/null)\" "
            '"$(systemctl is-enabled salt-minion 2>/dev/null)"',
        )
    )


PROBE = _probe()


@dataclass
class Found:
    files: list[str] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (sha256, path) of each private key file
    processes: list[str] = field(default_factory=list)
    minion: str = ""  # `systemctl is-active` and `is-enabled` of salt-minion


def look(cluster: Cluster, node: str) -> Found:
    result = cluster.run(node, f"sudo bash -c {shlex.quote(PROBE)}", timeout=180)
    assert result.rc == 0, f"{node}: the probe failed (exit {result.rc}): {result.stderr}"
    found = Found()
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "file":
            found.files.append(rest)
        elif kind == "key":
            digest, _, path = rest.partition(" ")
            found.keys.append((digest, path))
        elif kind == "process" and MARKER not in rest and AGENT_PROCESS.search(rest):
            found.processes.append(rest)
        elif kind == "minion":
            found.minion = rest.strip()
    return found


def cluster_keys(cluster: Cluster) -> dict[str, str]:
    """sha256 -> host path of every private key the cluster logs in with."""
    paths = {Path(cluster.spec.ssh_private_key)} | {Path(m.key) for m in cluster.machines if m.key}
    return {hashlib.sha256(p.read_bytes()).hexdigest(): str(p) for p in sorted(paths)}


def _listed(paths: list[str]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def check_no_agent(spike: Spike) -> None:
    """No node holds or runs an agent, nor the cluster's private key (see the module's docstring)."""
    __tracebackhide__ = True
    cluster = spike.cluster
    keys = cluster_keys(cluster)
    static = cluster.spec.provider == "static"
    problems = []
    for node in cluster.nodes:
        found = look(cluster, node.name)
        if found.processes:
            problems.append(f"{node.name} runs an agent: {'; '.join(found.processes)}")
        copies = [f"{path} (the key {keys[digest]})" for digest, path in found.keys if digest in keys]
        if copies:
            problems.append(f"{node.name} holds the cluster's private key: {', '.join(copies)}")
        if static:
            active, _, enabled = found.minion.partition(" ")
            if active == "active" or enabled == "enabled":
                problems.append(f"{node.name}: salt-minion is {active}, {enabled}: it must be stopped and disabled")
            if found.files:
                spike.emit(
                    f"[orka] {spike.name} no-agent: {node.name} holds {len(found.files)} salt/ansible files, inert "
                    f"(provider static: Salt stays installed on the fleet; salt-minion {found.minion or 'absent'})"
                )
        elif found.files:
            problems.append(f"{node.name} holds salt or ansible files: {_listed(found.files)}")
    if static:
        why = (
            "provider static: Salt stays installed on a fleet after the salt method ran, so its files may be on "
            "the nodes, inert only while no agent runs and orka's salt-minion is stopped and disabled"
        )
        assert not problems, f"{why}:\n" + "\n".join(problems)
    else:
        assert not problems, "\n".join(problems)

"""`orka init NAME`: a scenario's skeleton, the same small desired state written for every method, and its check.

Each method leaves /srv/NAME/NAME.conf on every node, naming the node; the
check says so (under /srv, which a fresh node leaves empty: /etc/NAME may be
the system's own, as /etc/motd is). It passes as it is (`pytest spikes/ --scenario spikes/NAME`),
so a team starts from green and replaces the desired state with its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from orka import methods
from orka.config import REPO_ROOT
from orka.config.scenario import NAME
from orka.errors import OrkaError

SCENARIO = """\
# {name}: what the scenario is for, in a line (the comparison page shows it).
name: {name}
description: /srv/{name}/{name}.conf on every node, naming the node
# What the desired state leaves on a node: orka's freshness probe before a method's first phase,
# the idempotence check (files' mtimes, services' main PIDs), and an existing host's reset.
leaves:
  paths: [/srv/{name}]
# Variables every method reads: a Salt pillar key, an Ansible var, a custom task file's $var.
vars:
  {var}: managed by orka
# The drift phase's hand edits (content, mode + to, removed, stopped, deleted_user; nodes: one, all or a
# position): each method's dry run must find them, its apply must repair them.
drift:
  edits:
    - content: /srv/{name}/{name}.conf
"""

CHECK = '''\
"""What {name} leaves on every node, whichever method made it (testinfra; orka gives host, method, node,
role and cluster)."""


def test_conf_names_the_node(host, node):
    conf = host.file("/srv/{name}/{name}.conf")
    assert conf.is_file
    assert conf.mode == 0o644
    assert f"node={{node}}" in conf.content_string
    assert "managed by orka" in conf.content_string
'''


def write_scenario(name: str, folder: Path | None = None) -> Path:
    """Write the skeleton into folder (default spikes/NAME), which must not exist yet; return it."""
    if not NAME.match(name):
        raise OrkaError(f"scenario name {name!r}: use lower-case letters, digits, '-' and '_' (at most 40)")
    folder = (folder or REPO_ROOT / "spikes" / name).resolve()
    if folder.exists():
        raise OrkaError(f"{folder} exists: give `orka init` a new name, or --path a new folder")
    sls = re.sub(r"\W", "_", name)
    var = f"{sls}_motd"
    files = {"scenario.yaml": SCENARIO, "verify/test_{sls}.py": CHECK}
    for descriptor in methods.descriptors():  # each method's own files, in its folder of the scenario
        skeleton: dict[str, str] = methods.imported(descriptor.skeleton) if descriptor.skeleton else {}
        files |= {f"{descriptor.name}/{relative}": text for relative, text in skeleton.items()}
    for relative, text in files.items():
        path = folder / relative.format(sls=sls)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(name=name, sls=sls, var=var), encoding="utf-8")
    return folder

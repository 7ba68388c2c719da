"""What the Salt method gives its machines: the master its tree, keys and pillar, each minion its keys."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from orka.config import NODE_ROLE
from orka.methods.salt import DESCRIPTOR, gpg
from orka.methods.salt.keys import ensure_salt_keys
from orka.methods.salt.states import PILLAR
from orka.plan import layout
from orka.plan.spec import Folder, MachineSpec, PlanInputs, Work

MASTER = DESCRIPTOR.masters[0]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
REMOTE_SCRIPTS = layout.remote_method_dir(DESCRIPTOR.name)
REMOTE_TREE = "/srv/salt"  # what the master serves, as the spike's notes name it
ORKA_PILLARS = ("orka", "orka_vars")  # the cluster's shape (`orka:`), the scenario's vars (top-level keys)


def pillar(inputs: PlanInputs) -> str:
    """The cluster's shape as the desired state reads it: the master's `orka` pillar, compact JSON."""
    nodes = [m.name for m in inputs.nodes]
    shape = {"method": DESCRIPTOR.name, "cluster_size": len(nodes), "primary": inputs.primary, "nodes": nodes}
    return json.dumps(shape, separators=(",", ":"))


def pillar_top(tree: Path) -> str:
    """The pillar's top file: orka's pillar and the scenario's vars for every minion, then the scenario's own
    pillar/top.sls (its sls files are served from the tree's pillar/), targets merged; compact JSON."""
    top: dict[str, dict[str, list[Any]]] = {"base": {"*": list(ORKA_PILLARS)}}
    own = tree / PILLAR / "top.sls"
    if own.is_file():
        for env, targets in (yaml.safe_load(own.read_text(encoding="utf-8")) or {}).items():
            for target, entries in (targets or {}).items():
                top.setdefault(str(env), {}).setdefault(str(target), []).extend(entries or [])
    return json.dumps(top, separators=(",", ":"))


def provision(machine: MachineSpec, inputs: PlanInputs) -> Work:
    if machine.role != MASTER.role and machine.role != NODE_ROLE:
        return Work()
    minions = [m.name for m in inputs.nodes]
    keys = ensure_salt_keys(Path(inputs.keys_dir) / "salt-keys", minions)
    scripts = (Folder(str(SCRIPTS), REMOTE_SCRIPTS),)
    if machine.role == MASTER.role:
        tree = inputs.scenario.folder(DESCRIPTOR.name)
        variables = json.dumps(inputs.scenario.vars, separators=(",", ":"))
        top = pillar_top(tree)
        uploads = [("salt/master.pem", keys / "master.pem"), ("salt/master.pub", keys / "master.pub")]
        uploads += [(f"salt/minions/{minion}.pub", keys / f"{minion}.pub") for minion in minions]
        gpg_key = gpg.key_file()
        if gpg_key is not None and gpg.encrypted_pillar(tree):  # the preflight has made sure it is a key
            uploads.append((gpg.UPLOAD_NAME, gpg_key))
        return Work(
            folders=(*scripts, Folder(str(tree), REMOTE_TREE)),
            commands=(shlex.join(["bash", f"{REMOTE_SCRIPTS}/salt-master.sh", pillar(inputs), variables, top]),),
            uploads=tuple((name, str(path)) for name, path in uploads),
        )
    own = [("minion.pem", f"{machine.name}.pem"), ("minion.pub", f"{machine.name}.pub"), ("master.pub", "master.pub")]
    return Work(
        folders=scripts,
        commands=(shlex.join(["bash", f"{REMOTE_SCRIPTS}/salt-minion.sh", machine.name, MASTER.name]),),
        uploads=tuple((f"salt/{name}", str(keys / source)) for name, source in own),
    )

"""`orka init NAME`: a scenario's skeleton, the same small desired state written for every method, and its check.

Each method leaves /srv/NAME/NAME.conf on every node, naming the node; the
check says so (under /srv, which a fresh node leaves empty: /etc/NAME may be
the system's own, as /etc/motd is). It passes as it is (`pytest spikes/ --scenario spikes/NAME`),
so a team starts from green and replaces the desired state with its own.
"""

from __future__ import annotations

import re
from pathlib import Path

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

SALT_TOP = """\
base:
  '*':
    - {sls}
"""

SALT_STATE = """\
{name}-conf:
  file.managed:
    - name: /srv/{name}/{name}.conf
    - makedirs: True
    - mode: '0644'
    - contents: |
        node={{{{ grains['id'] }}}}
        {{{{ salt['pillar.get']('{var}') }}}}
"""

PLAYBOOK = """\
---
- name: {name} | desired state
  hosts: nodes
  become: true
  gather_facts: false
  tasks:
    - name: {name} | folder
      ansible.builtin.file:
        path: /srv/{name}
        state: directory
        mode: "0755"

    - name: {name} | conf
      ansible.builtin.copy:
        dest: /srv/{name}/{name}.conf
        mode: "0644"
        content: |
          node={{{{ inventory_hostname }}}}
          {{{{ {var} }}}}
"""

TASKS = """\
tasks:
  - name: folder
    directory: {{path: /srv/{name}, owner: root, group: root, mode: "0755"}}

  - name: conf
    file:
      path: /srv/{name}/{name}.conf
      owner: root
      group: root
      mode: "0644"
      content: |
        node=$host
        ${var}
"""

DEPLOY = """\
\"\"\"{name} for pyinfra (orka runs it with --sudo); host data: the inventory's and scenario.yaml's vars.\"\"\"

from io import StringIO

from pyinfra import host
from pyinfra.operations import files

files.directory(name="folder", path="/srv/{name}", user="root", group="root", mode="755")
files.put(
    name="conf",
    src=StringIO(f"node={{host.name}}\\n{{host.data.{var}}}\\n"),
    dest="/srv/{name}/{name}.conf",
    user="root",
    group="root",
    mode="644",
)
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
    files = {
        "scenario.yaml": SCENARIO,
        "salt/top.sls": SALT_TOP,
        f"salt/{sls}/init.sls": SALT_STATE,
        "ansible/playbook.yml": PLAYBOOK,
        "custom/desired_state.yml": TASKS,
        "pyinfra/deploy.py": DEPLOY,
        f"verify/test_{sls}.py": CHECK,
    }
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(name=name, sls=sls, var=var), encoding="utf-8")
    return folder

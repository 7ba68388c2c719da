"""The variables a scenario's `no_log` tasks use: Ansible's own mark of what must not be shown.

Ansible hides a no_log task's result, but the values it uses are shown wherever else they go (another
task's diff, a template, a failure message): each variable such a task templates is a secret without
being named in scenario.yaml. One that only exists while the play runs (a loop's item, a registered
result, a fact) has no value before it, and is left out; so is one that only says where or how (an owner,
a path, a mode, a condition).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from orka.methods.ansible.files import _AnsibleLoader, ansible_yaml_files

# The first name of each Jinja expression: `{{ token }}`, `{{ token | b64encode }}`, `{{ db.password }}`.
_EXPRESSION = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)")
# Names Ansible gives every play, never a team's secret.
_ANSIBLE_OWN = re.compile(
    r"^(ansible_\w*|item|inventory_hostname\w*|hostvars|groups|group_names|play_hosts|omit|lookup|query|q|now|"
    r"range|playbook_dir|role_path|true|false|none|True|False|None)$"
)
_TRUE = (True, "true", "yes", "True", "Yes")
# A task's keys that name where and how, never what is secret: a var there (an owner, a mode) is no secret.
_PLACES = frozenset({"name", "owner", "group", "mode", "dest", "path", "state", "when", "loop", "with_items",
                     "become_user", "notify", "tags", "register", "changed_when", "failed_when"})  # fmt: skip


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            if key not in _PLACES:
                yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


def _no_log_tasks(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict):
        if data.get("no_log") in _TRUE:
            yield data
        else:
            for value in data.values():
                yield from _no_log_tasks(value)
    elif isinstance(data, list):
        for item in data:
            yield from _no_log_tasks(item)


def no_log_variables(config: Path) -> tuple[str, ...]:
    """Every variable the folder's no_log tasks (and blocks, and plays) template, in the order found."""
    names: list[str] = []
    for path in ansible_yaml_files(config):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_AnsibleLoader)  # a SafeLoader: plain data
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the folder's preflight names it
        for task in _no_log_tasks(data):
            names += [n for text in _strings(task) for n in _EXPRESSION.findall(text) if not _ANSIBLE_OWN.match(n)]
    return tuple(dict.fromkeys(names))

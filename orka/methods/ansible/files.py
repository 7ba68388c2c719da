"""Pre-flight of the Ansible folder: every YAML file Ansible will read parses, the playbooks are lists of plays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ORCHESTRATION = "orchestrate.yml"
# The playbooks orka runs, by name in the folder; each must be a list of plays.
PLAYBOOKS = ("playbook.yml", ORCHESTRATION)
# Folders whose files Ansible copies or templates as they are, never reads as YAML.
NOT_YAML_FOLDERS = frozenset({"templates", "files"})


class _AnsibleLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also takes Ansible's tags (!vault, !unsafe) as plain values."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_AnsibleLoader.add_multi_constructor("!", _untagged)


def ansible_yaml_files(config: Path) -> Iterator[Path]:
    """The YAML files Ansible reads from the folder: playbooks, roles' tasks, vars, handlers..."""
    for path in sorted([*config.rglob("*.yml"), *config.rglob("*.yaml")]):
        parts = path.relative_to(config).parts[:-1]
        if path.is_file() and not any(p.startswith(".") or p in NOT_YAML_FOLDERS for p in parts):
            yield path


def check_ansible_file(config: Path, path: Path) -> str | None:
    """The problem with one of the folder's YAML files, or None when Ansible could read it."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_AnsibleLoader)  # a SafeLoader: plain data
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot be read ({exc}); make it a readable UTF-8 file"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        what = getattr(exc, "problem", None) or getattr(exc, "context", None) or "syntax error"
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        return f"{where}: malformed YAML ({what}); fix that line"
    if path.parent == config and path.name in PLAYBOOKS:
        plays_ok = isinstance(data, list) and data and all(isinstance(play, dict) for play in data)
        if not plays_ok:
            shown = "empty" if not data else f"a {type(data).__name__}"
            return (
                f"{path}: is {shown}, not a playbook; a playbook is a list of plays, "
                "each a mapping such as `- hosts: all` with its `tasks:` or `roles:`"
            )
    return None


def check_ansible_config(config: Path) -> list[str]:
    return [problem for path in ansible_yaml_files(config) if (problem := check_ansible_file(config, path))]


def preflight(config: Path) -> list[str]:
    """Every problem of a scenario's Ansible folder, each naming its file and line."""
    from orka.methods.ansible.vault import password_problem

    vault = password_problem(config)
    return [*check_ansible_config(config), *([vault] if vault else [])]


def orchestration_in(config: Path) -> str | None:
    """An Ansible folder's orchestration: its orchestrate.yml, when it has one."""
    return ORCHESTRATION if (config / ORCHESTRATION).is_file() else None

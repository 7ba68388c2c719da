"""Who the runner talks to: hosts, how to reach them, their groups and vars.

Knows nothing of pytest, Vagrant or orka's clusters: a Bamboo plan hands it
any servers, as a YAML file:

    vars: {method: custom}            # for every host
    known_hosts: ~/.ssh/known_hosts   # host keys to check against (the default); `none` checks none
    hosts:
      web-1: {address: 10.0.0.5, user: deploy, key: ~/.ssh/id_ed25519, groups: [primary], vars: {role: primary}}
      web-2: {address: 10.0.0.6, user: deploy, key: ~/.ssh/id_ed25519, groups: [secondaries]}

or from an OpenSSH config (hosts named as its `Host` entries).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orka.errors import OrkaError
from orka.runner.taskfile import TaskFile

# A longer list of known names in a message is cut: it has to stay readable.
_NAMES_SHOWN = 10


class InventoryError(OrkaError):
    """An inventory that cannot be used; says which host or key and how to fix it."""


@dataclass(frozen=True)
class Host:
    name: str
    address: str = ""
    user: str = ""
    port: int = 22
    key: str = ""
    ssh_config: str = ""  # when set, `name` is a Host entry of this OpenSSH config
    known_hosts: str = "~/.ssh/known_hosts"  # or "none": no host key check
    groups: tuple[str, ...] = ()
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    hosts: tuple[Host, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the file it was read from, for messages

    def with_vars(self, extra: dict[str, Any]) -> Inventory:
        """The inventory with more vars for every host (a scenario's); its own win over them."""
        return dataclasses.replace(self, vars={**extra, **self.vars}) if extra else self

    def unknown(self, patterns: list[str] | tuple[str, ...]) -> list[str]:
        """The patterns that name no host and no group ('all' is always known)."""
        known = {"all"} | {h.name for h in self.hosts} | {g for h in self.hosts for g in h.groups}
        return sorted(set(patterns) - known)

    def known_names(self) -> str:
        """`hosts: a, b; groups: g` for a message that asks for one of them."""

        def cut(names: list[str]) -> str:
            more = f", ... ({len(names) - _NAMES_SHOWN} more)" if len(names) > _NAMES_SHOWN else ""
            return ", ".join(names[:_NAMES_SHOWN]) + more if names else "none"

        groups = sorted({g for h in self.hosts for g in h.groups})
        return f"hosts: {cut([h.name for h in self.hosts])}; groups: {cut(groups)}, all"

    def select(self, patterns: list[str] | tuple[str, ...]) -> tuple[Host, ...]:
        """Hosts by name or group ('all' for every host), in inventory order."""
        wanted = set(patterns)
        unknown = self.unknown(patterns)
        if unknown:
            where = f" {self.source}" if self.source else ""
            raise InventoryError(
                f"no host or group named {', '.join(unknown)} in the inventory{where} ({self.known_names()}); "
                "name one of those, or add it to the inventory"
            )
        return tuple(h for h in self.hosts if "all" in wanted or h.name in wanted or wanted & set(h.groups))


def load_inventory(path: Path) -> Inventory:
    try:
        data = yaml.safe_load(path.read_text())
    except UnicodeDecodeError:
        raise InventoryError(f"inventory {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InventoryError(
            f"cannot read inventory {path}: {exc.strerror}; give the path of a YAML file with `hosts:`"
        ) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f", line {line + 1}" if line is not None else ""
        what = getattr(exc, "problem", None) or "syntax error"
        raise InventoryError(
            f"inventory {path}{where}: malformed YAML ({what}); "
            "fix that line (an inventory is YAML: `hosts:` maps each host name to its address, user, key)"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict) or not data["hosts"]:
        raise InventoryError(f"inventory {path}: needs a `hosts:` mapping of host name to its settings")
    if not isinstance(data.get("vars") or {}, dict):
        raise InventoryError(f"inventory {path}: `vars` must be a mapping of name to value")
    unknown_top = set(data) - {"vars", "hosts", "known_hosts"}
    if unknown_top:
        raise InventoryError(f"inventory {path}: unknown key(s) {', '.join(sorted(map(str, unknown_top)))}; "
                             "allowed: hosts, vars, known_hosts")  # fmt: skip
    known_hosts = data.get("known_hosts", "~/.ssh/known_hosts")
    if not isinstance(known_hosts, str) or not known_hosts:
        raise InventoryError(f"inventory {path}: `known_hosts` is a file of host keys, or `none` to check none")
    known = {"address", "user", "port", "key", "groups", "vars"}
    hosts = []
    for name, spec in data["hosts"].items():
        spec = spec or {}
        if not isinstance(spec, dict) or not isinstance(spec.get("vars") or {}, dict):
            raise InventoryError(f"inventory {path}: host {name}: its settings (and its `vars`) must be mappings")
        groups = spec.get("groups", ())
        groups = [groups] if isinstance(groups, str) else groups
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, str) and g for g in groups):
            raise InventoryError(f"inventory {path}: host {name}: groups {groups!r} is not a list of group names; "
                                 "write e.g. `groups: [primary, web]`")  # fmt: skip
        try:
            port = int(spec.get("port", 22))
        except (TypeError, ValueError):
            raise InventoryError(f"inventory {path}: host {name}: port {spec['port']!r} is not a number") from None
        if not 1 <= port <= 65535:
            raise InventoryError(f"inventory {path}: host {name}: port {port} is out of range; allowed: 1 to 65535")
        extra = set(spec) - known
        if extra:
            raise InventoryError(f"inventory {path}: host {name}: unknown key(s) {', '.join(sorted(extra))}; "
                                 f"allowed: {', '.join(sorted(known))}")  # fmt: skip
        address = spec.get("address", name)
        if not isinstance(address, (str, int)) or not str(address).strip():
            raise InventoryError(f"inventory {path}: host {name}: address {address!r} is empty or not a name; "
                                 f"give its IP address or DNS name, or leave `address` out to use {name}")  # fmt: skip
        user = spec.get("user") or ""
        if not isinstance(user, (str, int)):
            raise InventoryError(f"inventory {path}: host {name}: user {user!r} is not a user name; "
                                 "give the login name, e.g. `user: deploy`")  # fmt: skip
        key = str(Path(spec["key"]).expanduser()) if spec.get("key") else ""
        hosts.append(
            Host(
                name=str(name),
                address=str(address).strip(),
                user=str(user),
                port=port,
                key=key,
                groups=tuple(map(str, groups)),
                known_hosts=known_hosts,
                vars=dict(spec.get("vars", {})),
            )
        )
    return Inventory(tuple(hosts), dict(data.get("vars") or {}), str(path))


def check_targets(inventory: Inventory, taskfile: TaskFile, limit: tuple[str, ...] = ("all",)) -> None:
    """Before any SSH: every name in --limit and in the steps' `hosts` is in the inventory,
    and the key and known_hosts files of the hosts that will be reached exist.

    Raises:
        InventoryError: naming the option or step, the unknown name, what is known, and the fix.
    """
    where = f"inventory {inventory.source}" if inventory.source else "the inventory"
    unknown = inventory.unknown(limit)
    if unknown:
        raise InventoryError(
            f"--limit {' '.join(unknown)}: no host or group of that name in {where} ({inventory.known_names()}); "
            "limit to one of those, or add it to the inventory"
        )
    for number, step in enumerate(taskfile.steps, 1):
        unknown = inventory.unknown(step.hosts)
        if unknown:
            raise InventoryError(
                f"{taskfile.source}, step {number} ({step.name}): hosts {', '.join(unknown)}: no host or group of "
                f"that name in {where} ({inventory.known_names()}); fix the step's `hosts`, or add it to the inventory"
            )
    allowed = {h.name for h in inventory.select(limit)}
    reached = {h.name: h for step in taskfile.steps for h in inventory.select(step.hosts) if h.name in allowed}
    for host in reached.values():
        if host.ssh_config:
            continue  # an OpenSSH config names its own files
        if host.key and not Path(host.key).is_file():
            raise InventoryError(
                f"{where}: host {host.name}: key {host.key} does not exist; "
                "give the path of the SSH private key that logs in to it"
            )
        known_hosts = Path(host.known_hosts).expanduser()
        if host.known_hosts != "none" and not known_hosts.is_file():
            raise InventoryError(
                f"{where}: known_hosts {known_hosts} does not exist, so no host key can be checked; "
                "add the hosts' keys to it (ssh-keyscan HOST >> FILE), or set `known_hosts: none` for throwaway nodes"
            )

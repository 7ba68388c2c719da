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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orka.errors import OrkaError


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

    def select(self, patterns: list[str] | tuple[str, ...]) -> tuple[Host, ...]:
        """Hosts by name or group ('all' for every host), in inventory order."""
        wanted = set(patterns)
        unknown = wanted - {"all"} - {h.name for h in self.hosts} - {g for h in self.hosts for g in h.groups}
        if unknown:
            raise InventoryError(f"no host or group named {', '.join(sorted(unknown))} in the inventory")
        return tuple(h for h in self.hosts if "all" in wanted or h.name in wanted or wanted & set(h.groups))


def load_inventory(path: Path) -> Inventory:
    try:
        data = yaml.safe_load(path.read_text())
    except UnicodeDecodeError:
        raise InventoryError(f"inventory {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InventoryError(f"cannot read inventory {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f", line {line + 1}" if line is not None else ""
        raise InventoryError(f"inventory {path}{where}: malformed YAML") from None
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
        try:
            port = int(spec.get("port", 22))
        except (TypeError, ValueError):
            raise InventoryError(f"inventory {path}: host {name}: port {spec['port']!r} is not a number") from None
        extra = set(spec) - known
        if extra:
            raise InventoryError(f"inventory {path}: host {name}: unknown key(s) {', '.join(sorted(extra))}; "
                                 f"allowed: {', '.join(sorted(known))}")  # fmt: skip
        key = str(Path(spec["key"]).expanduser()) if spec.get("key") else ""
        hosts.append(
            Host(
                name=str(name),
                address=str(spec.get("address", name)),
                user=str(spec.get("user", "")),
                port=port,
                key=key,
                groups=tuple(map(str, groups)),
                known_hosts=known_hosts,
                vars=dict(spec.get("vars", {})),
            )
        )
    return Inventory(tuple(hosts), dict(data.get("vars") or {}))

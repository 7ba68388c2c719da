"""The static provider's fleet: existing hosts listed in settings instead of machines to create.

A leaf module beside orka.settings (it imports nothing of orka), which calls
check_fleet() only when `provider: static`, so a `static:` section written for
one machine never blocks a docker run on another.

    provider: static
    static:
      user: deploy                  # for every host that names none
      key: ~/.ssh/fleet_ed25519     # likewise
      known_hosts: ~/.ssh/known_hosts
      hosts:
        - {address: 10.0.0.10, role: salt-master}
        - {address: 10.0.0.21, role: node}
        ...

Hosts keep orka's machine names (orka-master, ansible-master, orka-node-1..N),
because the spikes, the Salt pillar and the Ansible inventory are written
with them; a host's own hostname is left as it is.
"""

from __future__ import annotations

import ipaddress
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROLES: Final = ("salt-master", "ansible-master", "node")
# The one machine name each master role has (spikes and provisioning use these names).
MASTER_NAMES: Final[Mapping[str, str]] = {"salt-master": "orka-master", "ansible-master": "ansible-master"}
# Which selected method needs which master on the fleet.
METHOD_MASTERS: Final[Mapping[str, str]] = {"salt": "salt-master", "ansible": "ansible-master"}
HOST_KEYS: Final = ("name", "address", "role", "user", "key", "port")
NO_KNOWN_HOSTS: Final = "none"
_NODE_NAME = re.compile(r"^orka-node-([1-9][0-9]*)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$"
)


@dataclass(frozen=True)
class FleetHost:
    """One existing host: orka's name for it, how orka logs in, and what it is for."""

    name: str
    role: str
    address: str
    user: str
    key: Path
    port: int = 22


@dataclass(frozen=True)
class Fleet:
    """The validated `static:` section."""

    hosts: tuple[FleetHost, ...]
    known_hosts: Path | None  # None: host keys are not checked (a throwaway test fleet)

    @property
    def nodes(self) -> tuple[FleetHost, ...]:
        """The nodes, as orka-node-1..N in that order."""
        nodes = [h for h in self.hosts if h.role == "node"]
        return tuple(sorted(nodes, key=lambda h: int(h.name.rsplit("-", 1)[1])))

    def master(self, role: str) -> FleetHost | None:
        return next((h for h in self.hosts if h.role == role), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "known_hosts": str(self.known_hosts) if self.known_hosts else NO_KNOWN_HOSTS,
            "hosts": [
                {
                    "name": h.name,
                    "role": h.role,
                    "address": h.address,
                    "user": h.user,
                    "key": str(h.key),
                    "port": h.port,
                }
                for h in self.hosts
            ],
        }


def check_fleet(
    values: Mapping[str, object],
    methods: tuple[str, ...],
    label: Callable[[str], str],
    resolve: Callable[[str], Path],
    show: Callable[[object], str],
    problems: list[str],
    size: tuple[int, int],
) -> Fleet | None:
    """Validate the static.* values; append every problem found; None when any was found.

    Args:
        values: Settings values by dotted key (static.hosts, static.user, static.key, static.known_hosts).
        methods: The selected methods (each that needs a master needs that master on the fleet).
        label: Names a key as the user should read it (marks overrides).
        resolve: Turns a path from the settings into an absolute one (~ and relative paths).
        show: Shortens a bad value for a message.
        size: (fewest, most) nodes allowed.
    """
    start = len(problems)
    default_user = _check_optional_user(label("static.user"), values["static.user"], show, problems)
    default_key = _check_optional_key(label("static.key"), values["static.key"], resolve, show, problems)
    known_hosts = _check_known_hosts(label("static.known_hosts"), values["static.known_hosts"], resolve, show, problems)

    raw_hosts = values["static.hosts"]
    key = label("static.hosts")
    if not isinstance(raw_hosts, (list, tuple)) or not raw_hosts:
        problems.append(
            f"{key}: {show(raw_hosts)} is not a non-empty list; allowed: a list of hosts such as "
            "{address: 10.0.0.21, role: node} (with provider: static, the fleet replaces the machines orka creates)"
        )
        return None

    entries: list[tuple[str, dict[str, object]]] = []
    for index, entry in enumerate(raw_hosts):
        where = f"{key}[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(
                f"{where}: {show(entry)} is not a mapping; allowed: a mapping with keys {', '.join(HOST_KEYS)}"
            )
            continue
        unknown = [str(k) for k in entry if k not in HOST_KEYS]
        for name in unknown:
            problems.append(f"{where}.{name}: unknown key; allowed: {', '.join(HOST_KEYS)}")
        entries.append((where, {str(k): v for k, v in entry.items()}))

    hosts: list[FleetHost] = []
    for where, entry in entries:
        # A bad static.user or static.key was named already: the hosts that lean on it are not named again.
        defaults = (
            default_user,
            default_key,
            values["static.user"] not in ("", None),
            values["static.key"] not in ("", None),
        )
        host = _check_host(where, entry, defaults, resolve, show, problems)
        if host is not None:
            hosts.append(host)
    _check_fleet_shape(key, entries, methods, size, problems)
    if len(hosts) == len(entries) == len(raw_hosts):
        hosts = _name_hosts(key, hosts, entries, problems)
    if len(problems) > start:
        return None
    return Fleet(tuple(hosts), known_hosts)


def _check_host(
    where: str,
    entry: Mapping[str, object],
    defaults: tuple[str | None, Path | None, bool, bool],
    resolve: Callable[[str], Path],
    show: Callable[[object], str],
    problems: list[str],
) -> FleetHost | None:
    start = len(problems)
    default_user, default_key, user_given, key_given = defaults
    role = entry.get("role")
    if role is None:
        problems.append(f"{where}.role: missing; allowed: {', '.join(ROLES)}")
    elif role not in ROLES:
        problems.append(f"{where}.role: {show(role)} is not known; allowed: {', '.join(ROLES)}")

    address = entry.get("address")
    if address is None:
        problems.append(f"{where}.address: missing; allowed: the IP address or DNS name orka reaches the host at")
    elif not isinstance(address, str) or not _is_address(address):
        problems.append(f"{where}.address: {show(address)} is not an IP address or DNS name; allowed: e.g. 10.0.0.21")

    port = entry.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(
            f"{where}.port: {show(port)} is not a TCP port; allowed: an integer from 1 to 65535 (default 22)"
        )

    user: str | None = default_user
    if "user" in entry:
        user = _check_user(f"{where}.user", entry["user"], show, problems)
    elif not user_given:
        problems.append(f"{where}.user: missing, and static.user gives none; allowed: the SSH login, e.g. deploy")

    key: Path | None = default_key
    if "key" in entry:
        key = _check_key(f"{where}.key", entry["key"], resolve, show, problems)
    elif not key_given:
        problems.append(f"{where}.key: missing, and static.key gives none; allowed: a private key file, mode 0600")

    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(f"{where}.name: {show(name)} is not a string; allowed: orka's name for the host, or none")
    if len(problems) > start or user is None or key is None:
        return None
    # Narrowed for mypy: each was checked above, and any problem returned already.
    assert isinstance(role, str)
    assert isinstance(address, str)
    assert isinstance(port, int)
    assert user is not None
    assert key is not None
    return FleetHost(name=str(name or ""), role=role, address=address, user=user, key=key, port=port)


def _name_hosts(
    key: str, hosts: list[FleetHost], entries: list[tuple[str, dict[str, object]]], problems: list[str]
) -> list[FleetHost]:
    """Give each host orka's machine name: a master its role's, a node orka-node-N.

    A node with a name keeps it; the others take the lowest free numbers in list order.
    """
    taken: set[int] = set()
    for (where, _), host in zip(entries, hosts, strict=True):
        if not host.name:
            continue
        if host.role in MASTER_NAMES:
            expected = MASTER_NAMES[host.role]
            if host.name != expected:
                problems.append(
                    f"{where}.name: {host.name!r} is not orka's name for a {host.role}; "
                    f"allowed: {expected!r}, or leave name out"
                )
            continue
        match = _NODE_NAME.match(host.name)
        if match is None:
            problems.append(
                f"{where}.name: {host.name!r} is not a node name; allowed: orka-node-N "
                "(the spikes and states use these names; the host's own hostname is left as it is), or leave name out"
            )
        elif int(match.group(1)) in taken:
            problems.append(f"{where}.name: {host.name!r} is given twice; allowed: each node name once")
        else:
            taken.add(int(match.group(1)))
    named: list[FleetHost] = []
    free = (n for n in range(1, 10**6) if n not in taken)
    for host in hosts:
        name = MASTER_NAMES[host.role] if host.role in MASTER_NAMES else host.name or f"orka-node-{next(free)}"
        named.append(FleetHost(name, host.role, host.address, host.user, host.key, host.port))
    numbers = sorted(int(h.name.rsplit("-", 1)[1]) for h in named if _NODE_NAME.match(h.name))
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        problems.append(
            f"{key}: the nodes are named {', '.join(f'orka-node-{n}' for n in numbers)}; "
            f"allowed: orka-node-1 to orka-node-{len(numbers)} with no gap (leave names out to number them in order)"
        )
    return named


def _check_fleet_shape(
    key: str,
    entries: list[tuple[str, dict[str, object]]],
    methods: tuple[str, ...],
    size: tuple[int, int],
    problems: list[str],
) -> None:
    """What the fleet as a whole must be, from each entry's role and address as given
    (so these are reported together with any problem of a single host)."""
    fewest, most = size
    roles = [entry.get("role") for _, entry in entries]
    nodes = roles.count("node")
    if not fewest <= nodes <= most:
        problems.append(
            f"{key}: {nodes} host(s) with role node; allowed: from {fewest} to {most} nodes "
            "(the fleet's nodes are the cluster: `cluster` is their number)"
        )
    for role in MASTER_NAMES:
        if roles.count(role) > 1:
            problems.append(f"{key}: {roles.count(role)} hosts with role {role}; allowed: at most one")
    for method in methods:
        needed = METHOD_MASTERS.get(method)
        if needed is not None and needed not in roles:
            problems.append(
                f"{key}: the {method} method needs a host with role {needed}, and none is listed; "
                f"allowed: add one, or leave {method} out of methods"
            )
    seen: dict[str, str] = {}
    for where, entry in entries:
        address = entry.get("address")
        if not isinstance(address, str):
            continue
        if address in seen:
            problems.append(
                f"{where}.address: {address} is also {seen[address]}'s; "
                "allowed: one host per address (the hosts reach each other by these addresses)"
            )
        seen.setdefault(address, where)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(_DNS_NAME.match(text))
    return True


def _check_user(where: str, value: object, show: Callable[[object], str], problems: list[str]) -> str | None:
    if not isinstance(value, str) or not _USER.match(value):
        problems.append(f"{where}: {show(value)} is not a user name; allowed: a login such as deploy or vagrant")
        return None
    return value


def _check_optional_user(where: str, value: object, show: Callable[[object], str], problems: list[str]) -> str | None:
    return None if value in ("", None) else _check_user(where, value, show, problems)


def _check_key(
    where: str, value: object, resolve: Callable[[str], Path], show: Callable[[object], str], problems: list[str]
) -> Path | None:
    allowed = "a private key file (not its .pub), readable by its owner only (chmod 600)"
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {show(value)} is not a path; allowed: {allowed}")
        return None
    path = resolve(value)
    named = f"{where}: {value!r} ({path})" if str(path) != value else f"{where}: {value!r}"
    if not path.is_file():
        problems.append(f"{named} is not a file; allowed: {allowed}")
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(f"{named} has mode {mode:04o}, open to others; allowed: {allowed}; fix: chmod 600 {path}")
        return None
    try:
        first_line = path.read_text(encoding="ascii", errors="replace").split("\n", 1)[0]
    except OSError as exc:
        problems.append(f"{named} cannot be read ({exc.strerror}); allowed: {allowed}")
        return None
    if "PRIVATE KEY" not in first_line:
        problems.append(f"{named} is not a private key (no PRIVATE KEY header); allowed: {allowed}")
        return None
    return path


def _check_optional_key(
    where: str, value: object, resolve: Callable[[str], Path], show: Callable[[object], str], problems: list[str]
) -> Path | None:
    return None if value in ("", None) else _check_key(where, value, resolve, show, problems)


def _check_known_hosts(
    where: str, value: object, resolve: Callable[[str], Path], show: Callable[[object], str], problems: list[str]
) -> Path | None:
    allowed = (
        "a known_hosts file (a host seen first is added, a host whose key changed is refused), "
        f"or {NO_KNOWN_HOSTS!r} to check no host key (throwaway test hosts only)"
    )
    if value == NO_KNOWN_HOSTS:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {show(value)} is not a path; allowed: {allowed}")
        return None
    path = resolve(value)
    # A missing file (or folder, such as ~/.ssh on a fresh build agent) is made at bring-up.
    blocking = next((p for p in (path, *path.parents) if p.exists()), None)
    if blocking == path and not path.is_file():
        problems.append(f"{where}: {value!r} ({path}) is not a file; allowed: {allowed}")
    elif blocking is not None and blocking != path and not blocking.is_dir():
        problems.append(f"{where}: {value!r} is under {blocking}, which is not a folder; allowed: {allowed}")
    return path

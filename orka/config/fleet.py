"""The static provider's fleet: existing hosts listed in settings instead of machines to create.

The `static:` section is the pydantic model Static, which orka.config.settings checks
only with `provider: static`, so a `static:` section written for one machine
never blocks a docker run on another. A leaf module: it imports nothing of orka.

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
import itertools
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from orka import methods
from orka.config import NODE_PREFIX, NODE_ROLE, REPO_ROOT

# The one machine name each master role has (spikes and provisioning use these names): the methods' own.
MASTER_NAMES: Final[Mapping[str, str]] = {m.role: m.name for d in methods.descriptors() for m in d.masters}
# Which selected method needs which master on the fleet.
METHOD_MASTERS: Final[Mapping[str, str]] = {d.name: m.role for d in methods.descriptors() for m in d.masters}
ROLES: Final[tuple[str, ...]] = (*MASTER_NAMES, NODE_ROLE)
Role = Literal[ROLES]  # type: ignore[valid-type]  # the roles of the methods found, known at import
NO_KNOWN_HOSTS: Final = "none"

_STRICT: Final = ConfigDict(extra="forbid", strict=True, validate_default=True)
_NODE_NAME = re.compile(rf"^{re.escape(NODE_PREFIX)}([1-9][0-9]*)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$"
)
_KEY: Final = "a private key file (not its .pub), readable by its owner only (chmod 600)"
_KNOWN_HOSTS: Final = (
    "a known_hosts file (a host seen first is added, a host whose key changed is refused), "
    f"or {NO_KNOWN_HOSTS!r} to check no host key (throwaway test hosts only)"
)

# orka's own errors, which orka.config.settings turns into problems: an "orka" one says all that follows
# the key; a "value" one what is wrong with the value, which is shown before it (and the field's
# description, what is allowed, after it).
orka = partial(PydanticCustomError, "orka")
bad = partial(PydanticCustomError, "value")
_CORE_ERRORS: Final = frozenset(get_args(ErrorType))


def problem(loc: tuple[str | int, ...], error: PydanticCustomError, value: object = None) -> InitErrorDetails:
    """An error at loc, to raise with others in one ValidationError."""
    return {"type": error, "loc": loc, "input": value}


def again(error: ErrorDetails) -> InitErrorDetails:
    """A caught error, to raise again with others: pydantic-core takes back only its own error types by name."""
    if error["type"] in _CORE_ERRORS:
        return cast(InitErrorDetails, error)
    return problem(error["loc"], PydanticCustomError(error["type"], error["msg"]), error["input"])


def _user(value: str | None) -> str | None:
    if value is not None and not _USER.match(value):
        raise bad("is not a user name")
    return value


def _address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _DNS_NAME.match(value):
            raise orka(f"{value!r} is not an IP address or DNS name; allowed: e.g. 10.0.0.21") from None
    return value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise bad("is not a TCP port")
    return value


def _private_key(value: Path | None) -> Path | None:
    """ssh takes only the private half of a key, and only for its owner's eyes."""
    if value is None:
        return None
    path = REPO_ROOT / value.expanduser()  # as is if absolute
    named = f"{str(value)!r} ({path})" if path != value else repr(str(value))
    if not path.is_file():
        raise orka(f"{named} is not a file; allowed: {_KEY}")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise orka(f"{named} has mode {mode:04o}, open to others; allowed: {_KEY}; fix: chmod 600 {path}")
    try:
        first_line = path.read_text(encoding="ascii", errors="replace").split("\n", 1)[0]
    except OSError as exc:
        raise orka(f"{named} cannot be read ({exc.strerror}); allowed: {_KEY}") from None
    if "PRIVATE KEY" not in first_line:
        raise orka(f"{named} is not a private key (no PRIVATE KEY header); allowed: {_KEY}")
    return path


def _known_hosts(value: Path) -> Path:
    if str(value) == NO_KNOWN_HOSTS:
        return value
    path = REPO_ROOT / value.expanduser()
    # A missing file (or folder, such as ~/.ssh on a fresh build agent) is made at bring-up.
    blocking = next((p for p in (path, *path.parents) if p.exists()), None)
    if blocking == path and not path.is_file():
        raise orka(f"{str(value)!r} ({path}) is not a file; allowed: {_KNOWN_HOSTS}")
    if blocking not in (None, path) and not blocking.is_dir():
        raise orka(f"{str(value)!r} is under {blocking}, which is not a folder; allowed: {_KNOWN_HOSTS}")
    return path


# Each Field's description is what is allowed there, for the messages. A path is written as text (strict=False).
User = Annotated[str | None, Field(description="a login such as deploy or vagrant"), AfterValidator(_user)]
Key = Annotated[Path | None, Field(strict=False, description=_KEY), AfterValidator(_private_key)]


class Host(BaseModel):
    """One entry of static.hosts."""

    model_config = _STRICT
    name: str | None = Field(None, description="orka's name for the host, or none")
    address: Annotated[str, AfterValidator(_address)] = Field(
        description="the IP address or DNS name orka reaches the host at"
    )
    role: Role = Field(description=", ".join(ROLES))
    user: User = None
    key: Key = None
    port: Annotated[int, AfterValidator(_port)] = Field(22, description="an integer from 1 to 65535 (default 22)")


class Static(BaseModel):
    """The `static:` section. Its user and key are those of every host that names none."""

    model_config = _STRICT
    hosts: tuple[Host, ...] = Field(
        (),
        strict=False,  # a list in YAML
        description="a list of hosts such as {address: 10.0.0.21, role: node} "
        "(with provider: static, the fleet replaces the machines orka creates)",
    )
    user: User = None
    key: Key = None
    known_hosts: Annotated[Path, AfterValidator(_known_hosts)] = Field(
        Path("~/.ssh/known_hosts"), strict=False, description=_KNOWN_HOSTS
    )

    @field_validator("hosts", mode="before")
    @classmethod
    def _some_hosts(cls, value: object) -> object:
        if value in ((), []):
            raise bad("is not a non-empty list")
        return value

    @field_validator("user", "key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


def fleet_problems(section: object, methods: Sequence[str], size: tuple[int, int]) -> list[InitErrorDetails]:
    """Each host's login, and what the fleet as a whole must be: judged from the entries as given,
    so that it is reported together with any problem of a single host."""
    given: Mapping[str, Any] = section if isinstance(section, Mapping) else {}
    hosts = given.get("hosts")
    entries = [(i, h) for i, h in enumerate(hosts) if isinstance(h, Mapping)] if isinstance(hosts, list | tuple) else []
    # A host without a user or key of its own takes the section's; a bad one there is named once, there.
    problems = [
        problem(("static", "hosts", i, key), orka(f"missing, and static.{key} gives none; allowed: {allowed}"))
        for i, entry in entries
        for key, allowed in (("user", "the SSH login, e.g. deploy"), ("key", "a private key file, mode 0600"))
        if key not in entry and given.get(key) in ("", None)
    ]
    if not entries:
        return problems  # the hosts field names what is wrong with the list
    (fewest, most), roles = size, [entry.get("role") for _, entry in entries]
    whole = []
    if not fewest <= roles.count(NODE_ROLE) <= most:
        whole.append(
            f"{roles.count(NODE_ROLE)} host(s) with role node; allowed: from {fewest} to {most} nodes "
            "(the fleet's nodes are the cluster: `cluster` is their number)"
        )
    whole += [f"{roles.count(r)} hosts with role {r}; allowed: at most one" for r in MASTER_NAMES if roles.count(r) > 1]
    whole += [
        f"the {method} method needs a host with role {role}, and none is listed; "
        f"allowed: add one, or leave {method} out of methods"
        for method, role in METHOD_MASTERS.items()
        if method in methods and role not in roles
    ]
    problems += [problem(("static", "hosts"), orka(message)) for message in whole]
    seen: dict[object, int] = {}
    for i, entry in entries:
        if isinstance(address := entry.get("address"), str) and seen.setdefault(address, i) != i:
            message = (
                f"{address} is also static.hosts[{seen[address]}]'s; "
                "allowed: one host per address (the hosts reach each other by these addresses)"
            )
            problems.append(problem(("static", "hosts", i, "address"), orka(message)))
    return problems


def fleet_of(static: Static) -> tuple[Fleet, list[InitErrorDetails]]:
    """The fleet, each host under orka's machine name, and the problems of the names given.

    A master takes its role's name; a node with a name keeps it, the others take the
    lowest free numbers in list order.
    """
    problems: list[InitErrorDetails] = []
    taken: set[int] = set()
    for i, host in enumerate(static.hosts):
        expected, match = MASTER_NAMES.get(host.role), _NODE_NAME.match(host.name or "")
        if not host.name or host.name == expected:
            continue
        if expected is not None:
            message = f"{host.name!r} is not orka's name for a {host.role}; allowed: {expected!r}, or leave name out"
        elif match is None:
            message = (
                f"{host.name!r} is not a node name; allowed: orka-node-N (the spikes and states use these names; "
                "the host's own hostname is left as it is), or leave name out"
            )
        elif int(match[1]) in taken:
            message = f"{host.name!r} is given twice; allowed: each node name once"
        else:
            taken.add(int(match[1]))
            continue
        problems.append(problem(("static", "hosts", i, "name"), orka(message)))
    free = (n for n in itertools.count(1) if n not in taken)
    hosts = []
    for h in static.hosts:
        name = MASTER_NAMES.get(h.role) or h.name or f"{NODE_PREFIX}{next(free)}"
        # Either is None only for a host that fleet_problems names for it (and then this fleet is not used).
        login = cast(tuple[str, Path], (h.user or static.user, h.key or static.key))
        hosts.append(FleetHost(name, h.role, h.address, *login, h.port))
    numbers = sorted(int(m[1]) for h in hosts if (m := _NODE_NAME.match(h.name)))
    if numbers != list(range(1, len(numbers) + 1)):
        message = (
            f"the nodes are named {', '.join(f'orka-node-{n}' for n in numbers)}; allowed: orka-node-1 to "
            f"orka-node-{len(numbers)} with no gap (leave names out to number them in order)"
        )
        problems.append(problem(("static", "hosts"), orka(message)))
    known_hosts = None if str(static.known_hosts) == NO_KNOWN_HOSTS else static.known_hosts
    return Fleet(tuple(hosts), known_hosts), problems


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
            "hosts": [{**asdict(h), "key": str(h.key)} for h in self.hosts],
        }

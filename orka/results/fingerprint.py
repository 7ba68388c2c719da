"""What a method really left on a node, comparable across methods.

A fingerprint is one shell command's output, read in one SSH round trip: the
packages and their versions, the users and groups, the files under the paths
the scenario manages (type, owner, mode, sha256 or link target), the systemd
units (enabled, active) and the listening sockets, one item per line as
`kind<TAB>name<TAB>value`. A fresh node's fingerprint is the baseline, so only
what a method changed is compared; two methods build the same server when the
items either changed have the same values on both.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from orka.config.platforms import on_platform
from orka.results.store import read_records

KINDS = ("package", "user", "group", "file", "unit-file", "unit", "socket")
ABSENT = "absent"
METHOD_MASK = "@method@"  # what stands for the method's name in a file that names it

_PACKAGES = (
    "if command -v dpkg-query >/dev/null 2>&1; then"
    " dpkg-query -W -f='package\\t${Package}\\t${Version}\\n';"
    " elif command -v rpm >/dev/null 2>&1; then"
    " rpm -qa --qf 'package\\t%{NAME}\\t%{VERSION}-%{RELEASE}\\n'; fi"
)
_ACCOUNTS = (
    'getent passwd | awk -F: \'{print "user\\t" $1 "\\tuid=" $3 " gid=" $4 " home=" $6 " shell=" $7}\'; '
    'getent group | awk -F: \'{print "group\\t" $1 "\\tgid=" $3 " members=" $4}\''
)
_UNITS = (
    "systemctl list-unit-files --no-legend --no-pager --type=service,socket,timer,mount 2>/dev/null"
    ' | awk \'{print "unit-file\\t" $1 "\\t" $2}\'; '
    "systemctl list-units --all --no-legend --no-pager --plain --type=service,socket,timer 2>/dev/null"
    ' | awk \'$2 != "not-found" {print "unit\\t" $1 "\\t" $3 "/" $4}\''
)
_SOCKETS = 'ss -Hltnu 2>/dev/null | awk \'{print "socket\\t" $1 " " $5 "\\tlistening"}\''


def fingerprint_command(paths: Iterable[str], method: str = "", naming_method: Iterable[str] = ()) -> str:
    """The shell command (run as root) printing a node's fingerprint, one item per line.

    The files of `naming_method` name the method that wrote them (method=salt): their sha256 is taken
    with the method's name masked, so only the rest of their content is compared."""
    parts = ["export LC_ALL=C", _PACKAGES, _ACCOUNTS, _UNITS, _SOCKETS]
    words = " ".join(shlex.quote(p) for p in paths)
    if words:
        # Metadata of every entry, then the sha256 of the regular files: parse() joins them by path.
        parts.append(f"find {words} -xdev -printf 'file\\t%p\\t%y %u:%g %#m %l\\n' 2>/dev/null")
        parts.append(f"find {words} -xdev -type f -exec sha256sum {{}} + 2>/dev/null | sed 's/^/sha256 /'")
    if method and re.fullmatch(r"[a-z]+", method):
        for path in map(shlex.quote, naming_method):
            masked = f"sed 's/{method}/{METHOD_MASK}/g' {path} | sha256sum | cut -d' ' -f1"
            parts.append(f"test -f {path} && printf 'masked %s  %s\\n' \"$({masked})\" {path}")
    return "; ".join([*parts, "true"])


Fingerprint = dict[str, str]  # "kind name" -> its value


def parse(text: str) -> Fingerprint:
    """A fingerprint command's output as {"kind name": value}; lines of no known kind are left out."""
    items: Fingerprint = {}
    sums: dict[str, str] = {}
    for line in text.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in ("sha256", "masked"):
            digest, _, path = rest.partition("  ")
            sums[path] = f"sha256:{digest[:16]}" if tag == "sha256" else f"sha256 ({METHOD_MASK}):{digest[:16]}"
            continue
        kind, _, rest = line.partition("\t")
        name, _, value = rest.partition("\t")
        if kind in KINDS and name:
            items[f"{kind} {name}"] = value.strip()
    for path, digest in sums.items():
        key = f"file {path}"
        if key in items:
            items[key] = f"{items[key]} {digest}"
    return items


def changed(baseline: Mapping[str, str], after: Mapping[str, str], units: Iterable[str] = ()) -> list[str]:
    """The items a method added, changed or removed, sorted.

    A unit's running state counts where the method installed, enabled or disabled it (its unit file
    changed) or the scenario declares it (`units`): a timer's service that ran meanwhile is no change of
    the method's."""
    differ = {k for k in set(baseline) | set(after) if baseline.get(k) != after.get(k)}
    declared = {u if "." in u else f"{u}.service" for u in units}

    def counts(key: str) -> bool:
        kind, _, name = key.partition(" ")
        return kind != "unit" or name in declared or f"unit-file {name}" in differ

    return sorted(k for k in differ if counts(k))


@dataclass(frozen=True)
class Left:
    """What one method left on one node: its fingerprint after apply and the items it changed."""

    after: Mapping[str, str]
    changed: tuple[str, ...]
    ignore: tuple[str, ...] = ()  # what the scenario and the method's tool may leave differently
    fresh: bool = True  # the node held nothing of the desired state when the baseline was taken


@dataclass(frozen=True)
class Difference:
    node: str
    item: str  # "kind name"
    values: tuple[tuple[str, str], ...]  # (method, value) of each method compared

    def __str__(self) -> str:
        shown = ", ".join(f"{method} {value}" for method, value in self.values)
        return f"{self.node} {self.item}: {shown}"


def ignored(item: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(item, pattern) for pattern in patterns)


def looked_at(item: str, commands: Iterable[str]) -> bool:
    """Whether a check's commands on a node name an item ("kind name"): its path, user, group, package or unit
    (with or without .service) as a word of its own, a socket by its port. "/etc/app" is not named by a
    command on "/etc/app/app.conf", nor user "app" by one on "app-agent"."""
    kind, _, name = item.partition(" ")
    text = "\n".join(commands)
    if kind == "socket":
        port = name.rsplit(":", 1)[-1]
        return port.isdigit() and re.search(rf"(?<![\w.]){port}(?!\d)", text) is not None
    words = {name, name.removesuffix(".service")} if kind in ("unit", "unit-file") else {name}
    return any(re.search(rf"(?<![\w./-]){re.escape(word)}(?![\w./-])", text) for word in words if word)


def unchecked(items: Iterable[str], commands: Iterable[str], ignore: Iterable[str] = ()) -> list[str]:
    """The items a method changed that no check's command named (what the scenario's checks never look at),
    less what may differ between methods anyway (the scenario's ignore, the tool's own traces)."""
    said = list(commands)
    return sorted(item for item in items if not ignored(item, ignore) and not looked_at(item, said))


def compare(node: str, left: Mapping[str, Left], ignore: Iterable[str] = ()) -> list[Difference]:
    """The items any of the methods changed on this node whose values differ between them.

    An item a method did not change keeps its baseline value on that method's node, so it is
    compared as that; an item matching an `ignore` pattern (fnmatch on "kind name") is expected
    to differ."""
    patterns = (*ignore, *(pattern for each in left.values() for pattern in each.ignore))
    items = sorted({item for each in left.values() for item in each.changed})
    differences = []
    for item in items:
        if ignored(item, patterns):
            continue
        values = tuple((method, each.after.get(item, ABSENT) or "-") for method, each in left.items())
        if len({value for _, value in values}) > 1:
            differences.append(Difference(node, item, values))
    return differences


def fingerprints_path(results: Path) -> Path:
    """The run's fingerprints (what each method left on each node), beside its results.json."""
    return results.with_name("fingerprints.json")


def read_left(path: Path, run_id: str | None = None) -> dict[tuple[str, str, str], Left]:
    """(scenario, method, node) -> what the method left there, of one run (the last entry of each wins)."""
    found: dict[tuple[str, str, str], Left] = {}
    for entry in read_records(path):
        if run_id is None or entry.get("run_id") == run_id:
            key = (
                on_platform(str(entry["scenario"]), str(entry.get("platform", ""))),
                str(entry["method"]),
                str(entry["node"]),
            )
            ignore = tuple(entry.get("ignore", ()))
            found[key] = Left(dict(entry["after"]), tuple(entry["changed"]), ignore, bool(entry.get("fresh", True)))
    return found

"""What a scenario's desired state leaves on a node, as its scenario.yaml declares it (`leaves:`).

The same lists give the probe that tells whether a node is fresh (none of it
there before a method's first phase), the snapshot the idempotence check
compares (files' mtimes and inodes, services' main PIDs) and, on an existing
host, which orka does not remake between methods, the reset that takes a
node back to fresh.

A fleet's host may have held some of it before orka first touched it (a team's
own `tree` package, say): the first reset writes down what the host held then,
in BASELINE, and no reset removes that. The probe's words are the baseline's.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

BASELINE = "/var/lib/orka/baseline"
# A package goes with whichever package manager the host has (removal downloads nothing).
REMOVE_PACKAGE = """remove_package() {
  if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "$1" >/dev/null
  elif command -v dnf >/dev/null; then dnf remove -y -q "$1" >/dev/null
  else yum remove -y -q "$1" >/dev/null; fi
}"""


@dataclass(frozen=True)
class Leaves:
    """Files and folders, systemd units, users, groups and packages the desired state makes."""

    paths: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.paths or self.units or self.users or self.groups or self.packages)

    @property
    def probe(self) -> str:
        """One line per item a node holds, nothing on a fresh node."""
        lines = [f"for p in {_words(self.paths)}; do test -e $p && echo $p; done" if self.paths else ""]
        lines += [f"getent group {g} >/dev/null && echo 'group {g}'" for g in self.groups]
        lines += [f"getent passwd {u} >/dev/null && echo 'user {u}'" for u in self.users]
        lines += [f"{_installed(p)} && echo 'package {p}'" for p in self.packages]
        return "; ".join([line for line in lines if line] + ["true"])

    @property
    def snapshot(self) -> str:
        """What the idempotence check compares before and after the second apply: every file's mtime and
        inode under the paths (a rewrite or a replacement), and every unit's main PID (a restart)."""
        parts = [f"find {_words(self.paths)} -xdev -printf 'file %p %T@ %i\\n' 2>/dev/null"] if self.paths else []
        parts += [
            f"printf 'unit {u} %s\\n' \"$(systemctl show -p MainPID --value {shlex.quote(u)} 2>/dev/null)\""
            for u in self.units
        ]
        return "; ".join([*parts, "true"])

    @property
    def reset(self) -> str:
        """As root under `set -e`: what is not the host's own goes, so only a real failure stops it.
        The services stop before their users go; the packages go with whichever package manager the host has."""
        lines = [
            f"install -d -m 0755 {BASELINE.rsplit('/', 1)[0]}",
            f"test -e {BASELINE} || {{ {self.probe}; }} > {BASELINE}",
            f'held() {{ grep -qxF "$1" {BASELINE}; }}',
        ]
        lines += [f"systemctl disable --now {shlex.quote(u)} >/dev/null 2>&1 || true" for u in self.units]
        lines += [f'for p in {_words(self.paths)}; do held "$p" || rm -rf "$p"; done'] if self.paths else []
        if self.units:
            lines.append("systemctl daemon-reload")
            lines += [f"systemctl reset-failed {shlex.quote(u)} >/dev/null 2>&1 || true" for u in self.units]
        for user in self.users:
            # userdel also removes a group of the user's name that has no other member: a held one comes back.
            lines.append(f"gid=$(getent group {user} | cut -d: -f3 || true)")
            lines.append(f"held 'user {user}' || ! getent passwd {user} >/dev/null || userdel {user}")
            if user in self.groups:
                back = f'groupadd --system --gid "$gid" {user}'
                lines.append(f"! held 'group {user}' || getent group {user} >/dev/null || {back}")
        lines += [f"held 'group {g}' || ! getent group {g} >/dev/null || groupdel {g}" for g in self.groups]
        if self.packages:
            lines.append(REMOVE_PACKAGE)
            lines += [
                f"held 'package {p}' || ! {_installed(p)} || remove_package {shlex.quote(p)}" for p in self.packages
            ]
        return "\n".join(lines) + "\n"


def _installed(package: str) -> str:
    """True when the package manager holds the package installed (by its name, not a command of that name:
    ntp's is ntpd, openssh-server's sshd); as any user."""
    name = shlex.quote(package)
    dpkg = f"dpkg-query -W -f='${{db:Status-Status}}' {name} 2>/dev/null | grep -qx installed"
    return f"{{ {dpkg} || rpm -q --quiet {name} 2>/dev/null; }}"


def _words(items: tuple[str, ...]) -> str:
    return " ".join(shlex.quote(item) for item in items)


def _entries(snapshot: str) -> dict[tuple[str, str], str]:
    """(kind, name) -> what was seen of it."""
    found = {}
    for line in snapshot.splitlines():
        kind, _, rest = line.rstrip("\n").partition(" ")
        fields = rest.rsplit(" ", 2 if kind == "file" else 1)
        if kind in ("file", "unit") and len(fields) > 1 and fields[0]:
            found[(kind, fields[0])] = " ".join(fields[1:])
    return found


def touched(before: str, after: str) -> list[str]:
    """What a second apply did to a converged node, from the snapshot before and after it ([] when nothing)."""
    old, new = _entries(before), _entries(after)
    what = []
    for (kind, name), seen in sorted(new.items()):
        if (kind, name) not in old:
            what.append(f"created {name}")
        elif old[(kind, name)] != seen and kind == "file":
            what.append(f"rewrote {name} (mtime or inode changed)")
        elif old[(kind, name)] != seen:
            what.append(f"restarted {name} (MainPID {old[(kind, name)] or '-'} -> {seen or '-'})")
    what += [f"removed {name}" for (kind, name) in sorted(old.keys() - new.keys())]
    return what

"""What any method's apply leaves on a node: the spikes' desired state, as one list.

The same list gives the probe that tells whether a node is fresh (none of it
there before a method's first phase) and, on a static fleet, which orka does
not remake between methods, the reset that takes a node back to fresh.

A fleet's host may have held some of it before orka first touched it (a team's
own `tree` package, say): the first reset writes down what the host held then,
in BASELINE, and no reset removes that. The probe's words are the baseline's.
"""

from __future__ import annotations

PATHS = ("/etc/orka", "/opt/orka")
UNIT = "orka-agent"
UNIT_FILE = f"/etc/systemd/system/{UNIT}.service"
GROUP = USER = "orka"
PACKAGE = "tree"
BASELINE = "/var/lib/orka/baseline"

# One line per item a node holds, nothing on a fresh node.
PROBE = (
    f"for p in {' '.join(PATHS)} {UNIT_FILE}; do test -e $p && echo $p; done; "
    f"getent group {GROUP} >/dev/null && echo 'group {GROUP}'; "
    f"getent passwd {USER} >/dev/null && echo 'user {USER}'; "
    f"command -v {PACKAGE} >/dev/null && echo 'package {PACKAGE}'; true"
)

# As root, under `set -e` (static.py's provisioning), so only a real failure
# stops it. The agent stops before its user goes; the package goes with
# whichever package manager the host has (removal downloads nothing).
RESET = f"""
install -d -m 0755 {BASELINE.rsplit("/", 1)[0]}
test -e {BASELINE} || {{ {PROBE}; }} > {BASELINE}
held() {{ grep -qxF "$1" {BASELINE}; }}
if ! held {UNIT_FILE}; then
  systemctl disable --now {UNIT} >/dev/null 2>&1 || true
  rm -f {UNIT_FILE}
  systemctl daemon-reload
  systemctl reset-failed {UNIT} >/dev/null 2>&1 || true
fi
for p in {" ".join(PATHS)}; do held "$p" || rm -rf "$p"; done
# userdel also removes a group of the user's name that has no other member: a held one comes back, same gid.
gid=$(getent group {GROUP} | cut -d: -f3)
held 'user {USER}' || ! getent passwd {USER} >/dev/null || userdel {USER}
! held 'group {GROUP}' || getent group {GROUP} >/dev/null || groupadd --system --gid "$gid" {GROUP}
held 'group {GROUP}' || ! getent group {GROUP} >/dev/null || groupdel {GROUP}
if ! held 'package {PACKAGE}' && command -v {PACKAGE} >/dev/null; then
  if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq {PACKAGE} >/dev/null
  elif command -v dnf >/dev/null; then dnf remove -y -q {PACKAGE} >/dev/null
  else yum remove -y -q {PACKAGE} >/dev/null; fi
fi
"""

# What the idempotence check compares before and after the second apply: every managed file's
# mtime and inode (a rewrite or a replacement), and the managed service's main PID (a restart).
SNAPSHOT = (
    f"find {' '.join(PATHS)} {UNIT_FILE} -xdev -printf 'file %p %T@ %i\\n' 2>/dev/null; "
    f"printf 'unit {UNIT} %s\\n' \"$(systemctl show -p MainPID --value {UNIT} 2>/dev/null)\"; true"
)


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
    """What a second apply did to a converged node, from SNAPSHOT before and after it ([] when nothing)."""
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

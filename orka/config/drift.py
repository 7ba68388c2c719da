"""The hand edits a scenario declares for its drift phase (scenario.yaml `drift:`), as an operator makes them.

    drift:
      nodes: one              # where each edit is made unless it says: one (the last node), all,
                              # or a node's position (1: the primary)
      edits:
        - content: /etc/app/app.conf     # a line appended to a file
        - mode: /etc/app/app.conf        # a file's mode set by hand
          to: "0600"
        - removed: /var/www/index.html   # a file or folder deleted
        - stopped: app                   # a systemd unit stopped
        - deleted_user: app              # a user deleted (stop its service first: userdel refuses otherwise)
          nodes: all

Each edit names one target (a path, a unit, a user): a method's dry run finds the edit when it names that
target among what it would change. "one" is the last node, so the nodes before it are left alone and a
dry run that reports a change there reports a drift that was never made.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

ONE = "one"
ALL = "all"
KINDS = ("content", "mode", "removed", "stopped", "deleted_user")
MARK = "orka-drift"  # the edit command's result lines: "orka-drift <index> ok" or "orka-drift <index> failed: ..."
APPENDED = "# changed by hand (orka drift)"


class EditModel(BaseModel):
    """One edit of scenario.yaml: exactly one of the kinds, `to` with `mode`, and an optional `nodes`."""

    model_config = ConfigDict(extra="forbid", strict=True)
    content: str | None = None
    mode: str | None = None
    to: str | None = None
    removed: str | None = None
    stopped: str | None = None
    deleted_user: str | None = None
    nodes: Literal["one", "all"] | int | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> EditModel:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS)} per edit (got {', '.join(given) or 'none'})")
        if (self.mode is None) != (self.to is None):
            raise ValueError('`mode: PATH` takes `to: MODE` (an octal mode such as "0600"), and `to` needs `mode`')
        if self.to is not None and not (self.to.isdigit() and set(self.to) <= set("01234567") and len(self.to) <= 4):
            raise ValueError(f'to: {self.to!r} is no octal mode; quote one such as "0600"')
        if isinstance(self.nodes, int) and self.nodes < 1:
            raise ValueError(f"nodes: {self.nodes}: a node's position counts from 1 (the primary)")
        for path in (self.content, self.mode, self.removed):
            if path is not None and not path.startswith("/"):
                raise ValueError(f"{path!r}: give an absolute path")
        return self


class DriftModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    nodes: Literal["one", "all"] = "one"
    edits: list[EditModel]

    @model_validator(mode="after")
    def _some_edits(self) -> DriftModel:
        if not self.edits:
            raise ValueError("declare at least one edit, or leave `drift:` out (the phase is then not defined)")
        return self


@dataclass(frozen=True)
class Edit:
    """One hand edit: its kind, its target (a path, a unit, a user), where it is made."""

    kind: str
    target: str
    nodes: str | int = ONE  # one (the last node), all, or a node's position (1: the primary)
    to: str = ""  # mode: the mode set

    def __str__(self) -> str:
        return {
            "content": f"{self.target}: content changed",
            "mode": f"{self.target}: mode set to {self.to}",
            "removed": f"{self.target}: removed",
            "stopped": f"unit {self.target}: stopped",
            "deleted_user": f"user {self.target}: deleted",
        }[self.kind]

    @property
    def command(self) -> str:
        """The shell command making the edit (as root); it fails, saying why, when the edit cannot be made."""
        target = shlex.quote(self.target)
        must = {
            "content": (f"test -f {target}", "no such file"),
            "mode": (f"test -e {target}", "no such file"),
            "removed": (f"test -e {target}", "no such file or folder"),
            "stopped": (f"systemctl is-active --quiet {target}", "the unit is not active"),
            "deleted_user": (f"getent passwd {target} >/dev/null", "no such user"),
        }[self.kind]
        edit = {
            "content": f"printf '\\n%s\\n' {shlex.quote(APPENDED)} >> {target}",
            "mode": f"chmod {self.to} {target}",
            "removed": f"rm -rf {target}",
            "stopped": f"systemctl stop {target}",
            "deleted_user": f"userdel {target}",
        }[self.kind]
        return f"{{ {must[0]} || {{ echo {shlex.quote(must[1])}; false; }}; }} && {edit}"

    def matches(self, named: str) -> bool:
        """Whether a target a tool names is this edit's (a unit with or without its .service)."""
        if self.kind == "stopped":
            return named.removesuffix(".service") == self.target.removesuffix(".service")
        return named.rstrip("/") == self.target.rstrip("/")


@dataclass(frozen=True)
class Drift:
    edits: tuple[Edit, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.edits)

    def on_node(self, node: str, nodes: tuple[str, ...]) -> tuple[Edit, ...]:
        """The edits made on a node of the cluster (in their declared order)."""
        return tuple(e for e in self.edits if node in _placed(e, nodes))

    def unplaced(self, nodes: tuple[str, ...]) -> list[str]:
        """The edits no node of the cluster takes (a position past its last node), each saying so."""
        return [
            f"{e}: nodes: {e.nodes}, but the cluster has {len(nodes)} nodes; give a position up to {len(nodes)}"
            for e in self.edits
            if not _placed(e, nodes)
        ]


def _placed(edit: Edit, nodes: tuple[str, ...]) -> tuple[str, ...]:
    if edit.nodes == ALL:
        return nodes
    if isinstance(edit.nodes, int):
        return nodes[edit.nodes - 1 : edit.nodes]
    return nodes[-1:]


def drift_of(model: DriftModel | None) -> Drift:
    if model is None:
        return Drift()
    edits = []
    for edit in model.edits:
        kind = next(k for k in KINDS if getattr(edit, k) is not None)
        edits.append(Edit(kind, str(getattr(edit, kind)), edit.nodes or model.nodes, edit.to or ""))
    return Drift(tuple(edits))


def edit_script(edits: tuple[Edit, ...]) -> str:
    """One shell script making a node's edits in order, a result line for each (MARK index ok|failed: why)."""
    lines = []
    for index, edit in enumerate(edits):
        lines.append(
            f"if out=$( {{ {edit.command}; }} 2>&1 ); then echo '{MARK} {index} ok'; "
            f'else echo "{MARK} {index} failed: $out" | tr "\\n" " "; echo; fi'
        )
    return "\n".join(lines) or "true"


def edit_results(output: str, edits: tuple[Edit, ...]) -> tuple[list[Edit], list[str]]:
    """The edits made, and a line for each that was not (with the shell's words), from edit_script's output."""
    said: dict[int, str] = {}
    for line in output.splitlines():
        mark, _, rest = line.partition(" ")
        number, _, outcome = rest.partition(" ")
        if mark == MARK and number.isdigit():
            said[int(number)] = outcome.strip()
    made, failed = [], []
    for index, edit in enumerate(edits):
        outcome = said.get(index, "failed: no result (the edit script stopped before it)")
        if outcome == "ok":
            made.append(edit)
        else:
            failed.append(f"{edit}: could not be made ({outcome.removeprefix('failed: ').strip() or 'no message'})")
    return made, failed

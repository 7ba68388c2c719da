"""The spikes side by side under pytest-xdist: each method's tests on one worker.

Every spike test is marked `xdist_group(<method>)`. pytest-xdist's own
`--dist loadgroup` reads those marks by renaming each test's node ID on the
worker (`test_apply[salt-orka-node-1]@salt`) and grouping by the suffix.
pytest 9.2 ignores that rename, so the groups are silently lost and a method's
tests are spread over every worker (pytest-xdist#1386); and where the rename
works, the renamed IDs reach the JUnit XML and every report. So orka leaves
node IDs alone and tells xdist's scheduler the groups itself: each worker
writes the group of every test it collected to a file (`write_groups`), and
`GroupScheduling` (xdist's scope scheduler, the one loadgroup is built on)
reads them and hands each group to one worker whole, in collection order.
A test without a group is a unit of its own, as with loadgroup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from orka.files import write_atomically

GROUP_MARK = "xdist_group"


def group_of(item: pytest.Item) -> str | None:
    """The item's xdist group, named as xdist names it: the marks' names, sorted, joined by `_`."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers(GROUP_MARK)}
    return "_".join(sorted(names)) or None


def write_groups(folder: Path, worker: str, items: Iterable[pytest.Item]) -> None:
    """{node id: group} of the grouped items, for the controller's scheduler; replaced whole."""
    groups = {item.nodeid: group for item in items if (group := group_of(item))}
    write_atomically(folder / f"groups-{worker}.json", json.dumps(groups))


def read_groups(folder: Path) -> dict[str, str]:
    """Every worker's groups; they collected the same tests, so they agree."""
    groups: dict[str, str] = {}
    for path in sorted(folder.glob("groups-*.json")):
        groups.update(json.loads(path.read_text()))
    return groups


class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no type hints
    """loadgroup's scheduling, with the groups read from the workers' files instead of from renamed node IDs."""

    def __init__(self, config: pytest.Config, log: Any, folder: Path) -> None:
        super().__init__(config, log)
        self._folder = folder
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        # Called once every worker has collected, so every worker has written its file.
        if self._groups is None:
            self._groups = read_groups(self._folder)
        group = self._groups.get(nodeid)
        return f"group {group}" if group else nodeid

"""The unit tests leave nothing behind them in /tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SOCKETS = "orka-ssh-*"  # the master connections' folder of a state folder too deep for a socket path


@pytest.fixture(autouse=True)
def _no_socket_folders_left() -> Iterator[None]:
    """A test's cluster paths under pytest's deep tmp_path get their ssh socket folder in /tmp
    (orka.plan.state): one the test made and left empty goes with it."""
    before = set(Path("/tmp").glob(SOCKETS))
    yield
    for folder in set(Path("/tmp").glob(SOCKETS)) - before:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()

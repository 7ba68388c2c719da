"""Locks: a cache's (parallel pytest-xdist workers build shared things once) and the host's (every orka run
on this machine, whatever its checkout, cache or user, agrees on who touches Docker's shared objects when)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def host_lock_dir() -> Path:
    """One folder for the whole machine (ORKA_LOCK_DIR, else orka-locks in the system's temporary folder)."""
    return Path(os.environ.get("ORKA_LOCK_DIR") or Path(tempfile.gettempdir()) / "orka-locks")


class HostLock:
    """A lock every orka run on this machine takes by name: shared by many, or held by one.

    Released on leaving the `with`, or earlier by `release()` once what it guards is over.
    """

    def __init__(self, name: str, *, shared: bool = False) -> None:
        self.path = host_lock_dir() / f"{name}.lock"
        self.shared = shared
        self._fd: int | None = None

    def __enter__(self) -> HostLock:
        folder = self.path.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            with suppress(PermissionError):  # made by another user in between: theirs is as good
                folder.chmod(0o1777)  # any user's orka run on this machine takes the same locks
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()

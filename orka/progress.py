"""Progress lines for long work, so nobody stares at a silent terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Emit = Callable[[str], None]


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def step(emit: Emit, what: str) -> Iterator[None]:
    """Print what starts, then how long it took (or that it failed)."""
    emit(f"[orka] {what} ...")
    start = time.monotonic()
    try:
        yield
    except BaseException:
        emit(f"[orka] {what}: failed after {time.monotonic() - start:.1f} s")
        raise
    emit(f"[orka] {what}: done in {time.monotonic() - start:.1f} s")

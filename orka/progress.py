"""Progress lines for long work, so nobody stares at a silent terminal.

Under pytest-xdist the work happens in worker processes whose output pytest
never shows; their lines travel to the controller over a Unix datagram socket
(`ProgressRelay`, one datagram per line, so lines from several workers never
mix) and the controller prints them as they come, tagged with the worker and
the method: `[orka gw1 ansible] vagrant up orka-gw1: ...`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Emit = Callable[[str], None]

PREFIX = "[orka"
MAX_LINE_BYTES = 16_000  # far below a Unix datagram's limit: one line is always one datagram


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


def tag(line: str, label: str) -> str:
    """`[orka] x` -> `[orka label] x`; `[orka a] x` -> `[orka label a] x`; any other line gets the tag in front."""
    if line.startswith(PREFIX) and line[len(PREFIX) : len(PREFIX) + 1] in (" ", "]"):
        return f"{PREFIX} {label}{line[len(PREFIX) :]}"
    return f"{PREFIX} {label}] {line}"


def tagged(emit: Emit, label: str) -> Emit:
    """An emitter that says whose line it is (a worker, a method)."""
    return lambda line: emit(tag(line, label))


class ProgressRelay:
    """The controller's end: a socket the workers send their lines to, printed by a thread as they arrive."""

    def __init__(self, write: Emit) -> None:
        self._write = write
        self._folder = Path(tempfile.mkdtemp(prefix="orka-progress-"))
        self.address = str(self._folder / "socket")  # short: a Unix socket path has a 107-byte limit
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.address)
        self._thread = threading.Thread(target=self._serve, name="orka-progress-relay", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            data = self._socket.recv(MAX_LINE_BYTES + 1024)
            if not data:  # the empty datagram close() sends
                return
            self._write(data.decode(errors="replace"))

    def close(self) -> None:
        """Print what is still queued, then stop and remove the socket."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as stop:
            stop.sendto(b"", self.address)
        self._thread.join(timeout=10)
        self._socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def relay_to(address: str) -> Emit:
    """A worker's emitter: each line to the controller's relay; to stderr if the relay is gone."""
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(line: str) -> None:
        data = line.encode()[:MAX_LINE_BYTES]
        try:
            sender.sendto(data, address)
        except OSError:
            to_stderr(line)

    return emit


def run_showing(command: list[str], marker: str, emit: Emit) -> tuple[int, list[str]]:
    """Run a build script; pass on its progress lines (those starting with marker).

    Returns its exit code and its last 30 lines of output, for the error message.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    tail: list[str] = []
    for raw in process.stdout:
        line = raw.rstrip()
        tail = [*tail, line][-30:]
        if line.startswith(marker):
            emit(f"[orka]   {line}")
    return process.wait(), tail

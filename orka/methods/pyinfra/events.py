"""pyinfra's own CLI, unchanged, that also writes what its State callbacks report as JSON lines.

    python -m orka.methods.pyinfra.events EVENTS_FILE [pyinfra's arguments]

pyinfra's `--json` results say which hosts changed or failed at each operation, but not when, nor why: the
callbacks give each operation's start and end on each host (the order an orchestration ran in) and a failed
host's own words (a connection's error, a command's stderr).
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
from typing import IO, Any

import pyinfra_cli.cli
from pyinfra.api.host import Host
from pyinfra.api.state import BaseStateCallback, State
from pyinfra_cli.main import main

from orka.methods.pyinfra import STEP_TIMEOUT_ENV

# The last lines of a failed command's stderr kept: enough to say why, not a whole log.
STDERR_LINES = 5


def operation_name(state: State, op_hash: str) -> str:
    """An operation as pyinfra's results name it (its `name=`, else Module/Operation)."""
    return ", ".join(sorted(state.op_meta[op_hash].names))


class Events(BaseStateCallback):
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        # Errors whose output is not known yet: pyinfra calls back before it stores a failed command's output.
        self.failed: list[tuple[State, Host, str, float]] = []
        # A command that timed out or lost its connection leaves no output, only pyinfra's log line: its words.
        self.command_errors: dict[str, str] = {}

    def command_error(self, host: Host, error: Exception, timeout: int | None) -> None:
        timed_out = isinstance(error, TimeoutError | socket.timeout)
        self.command_errors[host.name] = (
            f"command timed out after {timeout} s" if timed_out else f"{type(error).__name__}: {error}"
        )

    def _write(self, event: str, host: Host, t: float | None = None, **facts: Any) -> None:
        self.out.write(json.dumps({"event": event, "host": host.name, "t": t or time.time(), **facts}) + "\n")
        self.out.flush()

    def host_connect_error(self, state: State, host: Host, error: Any) -> None:  # type: ignore[override]
        self._write("connect_error", host, error=str(error))

    def operation_host_start(self, state: State, host: Host, op_hash: str) -> None:  # type: ignore[override]
        self._write("start", host, op=op_hash, name=operation_name(state, op_hash))

    def operation_host_success(  # type: ignore[override]
        self, state: State, host: Host, op_hash: str, retry_count: int = 0
    ) -> None:
        self._write("success", host, op=op_hash)

    def operation_host_error(  # type: ignore[override]
        self, state: State, host: Host, op_hash: str, retry_count: int = 0, max_retries: int = 0
    ) -> None:
        self.failed.append((state, host, op_hash, time.time()))

    def operation_end(self, state: State, op_hash: str) -> None:  # type: ignore[override]
        self.flush_errors()

    def flush_errors(self) -> None:
        """Each failed operation with the last lines of its output (once pyinfra has stored it)."""
        for state, host, op_hash, t in self.failed:
            meta = state.ops[host][op_hash].operation_meta
            said = [*meta.stderr_lines, *meta.stdout_lines][-STDERR_LINES:] if meta.is_complete() else []
            if not said and host.name in self.command_errors:
                said = [self.command_errors.pop(host.name)]
            self._write("error", host, t, op=op_hash, name=operation_name(state, op_hash), stderr=said)
        self.failed.clear()


def run(events_path: str, argv: list[str]) -> None:
    out = open(events_path, "a", encoding="utf-8")  # noqa: SIM115  # open until pyinfra's main exits the process

    events = Events(out)

    class RecordedState(State):
        def init(self, *args: Any, **kwargs: Any) -> None:
            super().init(*args, **kwargs)  # which makes the list of callback handlers
            self.add_callback_handler(events)  # type: ignore[no-untyped-call]

    # The CLI makes its one State by this name; ours is the same with one more callback handler.
    pyinfra_cli.cli.State = RecordedState
    # pyinfra keeps an operation's arguments (its `args`: the file, unit or user it acts on) only when the
    # operation has no `name=`: keep them always, so a dry run names its targets whatever the deploy calls them.
    operation: Any = importlib.import_module("pyinfra.api.operation")  # pyinfra.api.operation is a function
    name_operation = operation.generate_operation_name

    def with_arguments(*args: Any, **kwargs: Any) -> tuple[set[str], bool]:
        names, _ = name_operation(*args, **kwargs)
        return names, True

    operation.generate_operation_name = with_arguments
    # pyinfra only logs why a command failed without output (a timeout, a lost connection): keep its words.
    operations: Any = importlib.import_module("pyinfra.api.operations")
    log_command_error = operations.log_host_command_error

    def said_why(host: Host, error: Exception, timeout: int | None = 0) -> None:
        events.command_error(host, error, timeout)
        log_command_error(host, error, timeout=timeout)

    operations.log_host_command_error = said_why
    # Each command bounded (pyinfra's `_timeout`, which has no default of its own), so one that never ends fails
    # its host alone and pyinfra goes on with the others, before orka's command timeout stops the whole run.
    step_timeout = os.environ.get(STEP_TIMEOUT_ENV)
    if step_timeout:
        arguments: Any = importlib.import_module("pyinfra.api.arguments")
        arguments.all_argument_meta["_timeout"].default = lambda _config: int(step_timeout)
    sys.argv = ["pyinfra", *argv]
    try:
        main()
    finally:  # a run stopped by a failure (FAIL_PERCENT) ends no operation: its errors are still said
        events.flush_errors()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python -m orka.methods.pyinfra.events EVENTS_FILE PYINFRA_ARGUMENTS...")
    run(sys.argv[1], sys.argv[2:])

"""Lines for the user's terminal while pytest runs: progress past the output capture, notes between the dots."""

from __future__ import annotations

import threading

import pytest

from orka.progress import Emit


def progress_writer(config: pytest.Config) -> Emit:
    """Progress lines straight to the terminal, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    lock = threading.Lock()

    def emit(line: str) -> None:
        with lock, capture.global_and_fixture_disabled():
            writer.line(line)

    return emit


def line_writer(config: pytest.Config) -> Emit:
    """Lines on a line of their own, between pytest's progress dots (a worker's progress, the report's path)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    writer = config.get_terminal_writer()
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            if reporter is not None:
                reporter.ensure_newline()
            if writer.width_of_current_line:
                writer.line()
            writer.line(line)

    return write

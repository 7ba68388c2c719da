"""The methods side by side under pytest-xdist: each method's tests whole on one worker (parallel.py),
every worker recording under the controller's run id, its progress relayed to the controller's terminal."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from orka.progress import ProgressRelay
from orka.pytest_plugin import options
from orka.pytest_plugin.parallel import GroupScheduling
from orka.pytest_plugin.terminal import line_writer

RELAY = pytest.StashKey[ProgressRelay]()  # xdist controller: the workers' progress lines to the terminal
XDIST_DIR = pytest.StashKey[Path]()  # xdist controller: where the workers leave their tests' groups


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        # orka hands xdist the groups itself (parallel.py): xdist's loadgroup must not rename node IDs.
        config.option.loadgroup = False


def pytest_configure_node(node: Any) -> None:
    """Every worker records under the controller's run id, says its tests' groups, relays its progress."""
    config: pytest.Config = node.config
    if XDIST_DIR not in config.stash:
        config.stash[XDIST_DIR] = Path(tempfile.mkdtemp(prefix="orka-xdist-"))
        config.stash[RELAY] = ProgressRelay(line_writer(config))
    node.workerinput["orka_run_id"] = options.run_id(config)
    node.workerinput["orka_xdist_dir"] = str(config.stash[XDIST_DIR])
    node.workerinput["orka_progress"] = config.stash[RELAY].address


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling | None:
    """`--dist loadgroup` (the default): each xdist_group (a spike method) whole on one worker, node IDs unchanged.

    A spike run is scheduled so whatever --dist says: a method's tests spread over workers would
    bring its cluster up on each of them, and make a worker switch clusters back and forth."""
    dist = config.getvalue("dist")
    if XDIST_DIR not in config.stash or dist == "each" or (dist != "loadgroup" and not options.runs_spikes(config)):
        return None
    if dist != "loadgroup":
        config.get_terminal_writer().line(f"[orka] spikes: --dist {dist} ignored, each method's tests on one worker")
    return GroupScheduling(config, log, config.stash[XDIST_DIR])


def _stop_relay(config: pytest.Config) -> None:
    """Print the workers' last lines, then remove the relay and the groups."""
    relay = config.stash.get(RELAY, None)
    if relay is not None:
        del config.stash[RELAY]
        relay.close()
    folder = config.stash.get(XDIST_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # the workers are done: their last lines before the reports and the summary
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        _stop_relay(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_relay(config)  # also when the session ended early

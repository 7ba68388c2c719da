"""A scenario's own checks: its verify/ modules get the check fixtures, wherever the scenario's folder is."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from orka.pytest_plugin import check_fixtures, options
from orka.pytest_plugin.collection import checks_of


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Generator[None, object, object]:
    module = yield
    config = parent.config
    if (
        isinstance(module, pytest.Module)
        and options.runs_spikes(config)
        and checks_of(module_path, options.settings(config))
    ):
        # As if a conftest.py beside the checks held them: the module's own fixtures still win.
        parent.session._fixturemanager.parsefactories(holder=check_fixtures, node=module)
    return module

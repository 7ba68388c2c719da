"""What a spike run leaves by itself: reports/junit.xml for Bamboo, reports/pytest.html, the comparison page,
and reports/bamboo.properties (the facts a Bamboo build shows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orka.errors import OrkaError
from orka.plan.state import WHEELHOUSE_PINS
from orka.pytest_plugin import options
from orka.pytest_plugin.terminal import line_writer
from orka.report import junit
from orka.results.fingerprint import fingerprints_path
from orka.timings import REPORTS, timed, timings_path

METADATA = pytest.StashKey[dict[str, Any]]()  # pytest-metadata's dict: the html report's environment table
JUNIT_XML = options.REPORTS / junit.DEFAULT_JUNIT.name  # reports/junit.xml, where the Bamboo plan reads it
HTML_REPORT = options.REPORTS / "pytest.html"


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html read their options
def pytest_configure(config: pytest.Config) -> None:
    options.run_id(config)
    if hasattr(config, "workerinput") or config.option.collectonly or not options.runs_spikes(config):
        return  # a worker, a --collect-only, or not a spike run: no reports to start
    # Bad settings stop the run here (a usage error), before the last run's reports are touched.
    options.settings(config)
    # A new spike run starts a new results.json: reports compare one run.
    options.results_path(config).unlink(missing_ok=True)
    timings_path(options.results_path(config)).unlink(missing_ok=True)
    fingerprints_path(options.results_path(config)).unlink(missing_ok=True)
    # And leaves reports/junit.xml (for Bamboo) and reports/pytest.html, unless told where else.
    if hasattr(config.option, "xmlpath") and not config.option.xmlpath:
        config.option.xmlpath = str(JUNIT_XML)
    if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
        config.option.htmlpath = str(HTML_REPORT)
        config.option.self_contained_html = True


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """pytest-metadata: the cluster's facts in the html report's environment table."""
    if options.runs_spikes(config) and not hasattr(config, "workerinput"):
        metadata.update(junit.environment(options.settings(config), options.run_id(config), WHEELHOUSE_PINS))
        config.stash[METADATA] = metadata


def _junit_suite_properties(config: pytest.Config) -> None:
    """provider, cluster_size and run_id on the JUnit testsuite, as the run found them.

    Added by the process that writes the file (the xdist controller, or the only
    process): a worker's record_testsuite_property never reaches it. junitxml's
    plugin object is only reachable through its private stash key."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        facts = junit.suite_properties(options.settings(config), options.results_path(config), options.run_id(config))
        for name, value in facts.items():
            xml.add_global_property(name, value)


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html write their files
def pytest_sessionfinish(session: pytest.Session) -> None:
    """What the run found out (provider, node OS, each tool's version) replaces what the settings asked;
    then the methods' comparison is made from results.json, as `orka report` makes it."""
    config = session.config
    if hasattr(config, "workerinput") or not options.runs_spikes(config):
        return
    results = options.results_path(config)
    metadata = config.stash.get(METADATA, None)
    if metadata is not None:
        metadata.update(junit.recorded_environment(options.settings(config), results, options.run_id(config)))
    _junit_suite_properties(config)
    if not config.option.collectonly and results.exists():
        from orka.report.page import render_comparison  # matplotlib: loaded only when a report is made

        reports = options.REPORTS
        try:
            with timed(options.clock(config), REPORTS, "", ""):
                written = render_comparison(results, reports / junit.COMPARISON, scale_dir=reports / "scale")
        except OrkaError as exc:
            line_writer(config)(f"[orka] no comparison report: {exc}")
        else:
            line_writer(config)(f"[orka] comparison report: {written}")
            from orka.report.bamboo import FILE, write_facts
            from orka.report.records import load_results

            write_facts(load_results(results), reports / FILE)


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    """pytest-html: a link to the methods' comparison, made in the same folder by `orka report`."""
    if options.runs_spikes(session.config):
        html_report = Path(session.config.option.htmlpath).resolve()
        prefix.append(junit.comparison_link(html_report, options.REPORTS / junit.COMPARISON))

"""The Bamboo plan as an admin reads it (a YAML linter, its tasks, keys and paths), the cluster name a build
gives, and the facts file its inject-variables task reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from orka.config import REPO_ROOT
from orka.plan.layout import CLUSTER_NAME, default_cluster_name
from orka.report.bamboo import FILE, build_facts, write_facts
from orka.report.junit import COMPARISON, DEFAULT_JUNIT
from orka.report.records import load_results

PLAN = REPO_ROOT / "bamboo-specs" / "bamboo.yml"
LINT = YamlLintConfig("extends: default\nrules:\n  line-length: {max: 120}\n")


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PLAN.read_text())
    return loaded


def _tasks(job: dict[str, Any], key: str, kind: str) -> list[dict[str, Any]]:
    return [task[kind] for task in job[key] if kind in task]


def test_the_plan_passes_a_yaml_linter() -> None:
    problems = [f"{p.line}:{p.column} {p.message}" for p in linter.run(PLAN.read_text(), LINT)]
    assert problems == []


def test_the_plan_runs_the_spike_bounded_and_named_after_the_build(plan: dict[str, Any]) -> None:
    assert plan["version"] == 2
    job = plan["Spikes"]
    assert "system.docker.executable" in job["requirements"]
    (spike,) = _tasks(job, "tasks", "script")
    assert spike["environment"] == "ORKA_CLUSTER=${bamboo.buildResultKey}"
    (command,) = spike["scripts"]
    assert command.startswith("timeout -s INT ")  # orka tears its cluster down on Ctrl-C
    assert command.endswith("make spike")
    assert plan["branches"]["create"] == "for-pull-request"


def test_its_final_tasks_read_what_a_run_writes_and_remove_this_builds_cluster_only(plan: dict[str, Any]) -> None:
    job = plan["Spikes"]
    reports = DEFAULT_JUNIT.parent  # where a spike run writes, as the checkout's reports/
    (parser,) = _tasks(job, "final-tasks", "test-parser")
    assert parser["type"] == "junit"
    assert REPO_ROOT / parser["test-results"] == DEFAULT_JUNIT
    (variables,) = _tasks(job, "final-tasks", "inject-variables")
    assert REPO_ROOT / variables["file"] == reports / FILE
    assert variables["scope"] == "RESULT"
    scripts = [line for task in _tasks(job, "final-tasks", "script") for line in task["scripts"]]
    down = [line for line in scripts if "orka down" in line]
    assert down
    assert all("--all" not in line for line in down)  # another build's cluster stays
    cleanup = next(t for t in _tasks(job, "final-tasks", "script") if any("orka down" in s for s in t["scripts"]))
    assert cleanup["environment"] == "ORKA_CLUSTER=${bamboo.buildResultKey}"
    artifacts = {a["name"]: a for a in job["artifacts"]}
    assert REPO_ROOT / artifacts["comparison"]["location"] / artifacts["comparison"]["pattern"] == reports / COMPARISON


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("", "orka"),
        ("ORKA-SPIKE-SPIKES-12", "orka-spike-spikes-12"),
        ("PROJ-PLAN0-JOB1_7", "proj-plan0-job1-7"),
        ("--", "orka"),
        ("X" * 60, "x" * 40),
    ],
)
def test_a_build_key_becomes_a_cluster_name(monkeypatch: pytest.MonkeyPatch, given: str, name: str) -> None:
    monkeypatch.setenv("ORKA_CLUSTER", given)
    assert default_cluster_name() == name
    assert CLUSTER_NAME.match(default_cluster_name())


def test_the_facts_file_holds_each_methods_phases_apply_and_drift(tmp_path: Path) -> None:
    records = load_results(REPO_ROOT / "tests" / "unit" / "data" / "results" / "all_green.json")
    facts = build_facts(records)
    assert facts["example.salt.phases"] == "7/7"
    assert facts["example.salt.apply_s"] == "23.0"
    assert facts["example.ansible.apply_changed"] == "30"
    assert facts["example.custom.drift_found"] == "4/4"
    assert facts["example.custom.drift_repaired"] == "3/3"
    written = write_facts(records, tmp_path / FILE).read_text().splitlines()
    assert written == sorted(written)
    assert "example.salt.phases=7/7" in written

"""Scenarios as pure logic: loading a folder, `orka init`'s skeleton, the pillar's top, names and cells of reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.desired_state import Leaves
from orka.config.preflight import check_files
from orka.config.scenario import load_scenario
from orka.config.settings import load_settings
from orka.errors import OrkaError
from orka.methods.salt.provision import pillar_top
from orka.report.junit import _spike_case_problems
from orka.report.matrix import method_views
from orka.report.records import Record
from orka.results.record import NOT_DEFINED, NOT_WRITTEN
from orka.scaffold import write_scenario


def test_the_example_and_web_scenarios_load() -> None:
    example, problems = load_scenario(REPO_ROOT / "spikes" / "example")
    assert problems == []
    assert example is not None
    assert example.methods == ("salt", "ansible", "custom", "pyinfra")
    assert example.orchestration_of("salt") == "orch.secondary"
    assert example.orchestration_of("pyinfra") == "orchestrate.py"  # found by its descriptor: none declared
    assert example.junit_package == "spikes"  # its classes: spikes.salt, spikes.ansible, spikes.custom
    web, problems = load_scenario(REPO_ROOT / "spikes" / "web")
    assert problems == []
    assert web is not None
    assert web.orchestration == ()  # none: orchestrate is "not defined"
    assert web.vars == {"web_proxy_port": 8088}
    assert web.junit_package == "spikes.web"
    assert [p.name for p in web.check_files()] == ["test_web.py"]


def test_a_scenario_with_one_method_and_no_yaml(tmp_path: Path) -> None:
    (tmp_path / "solo" / "ansible").mkdir(parents=True)
    (tmp_path / "solo" / "ansible" / "playbook.yml").write_text("- hosts: nodes\n  tasks: []\n")
    scenario, problems = load_scenario(tmp_path / "solo")
    assert problems == []
    assert scenario is not None
    assert (scenario.name, scenario.methods, scenario.checks, bool(scenario.leaves)) == (
        "solo",
        ("ansible",),
        None,
        False,
    )


def test_a_bad_scenario_yaml_names_its_key(tmp_path: Path) -> None:
    (tmp_path / "s" / "custom").mkdir(parents=True)
    (tmp_path / "s" / "custom" / "desired_state.yml").write_text("tasks: []\n")
    (tmp_path / "s" / "scenario.yaml").write_text("name: Bad Name\norchestrate: {salt: orch.x}\nleavs: {}\n")
    _, problems = load_scenario(tmp_path / "s")
    assert any("leavs: unknown key; allowed: name, description, leaves" in p for p in problems), problems
    assert any("orchestrate.salt: the scenario has no salt/ folder" in p for p in problems), problems
    assert any("name 'Bad Name'" in p for p in problems), problems


def test_init_writes_a_skeleton_that_passes_preflight(tmp_path: Path) -> None:
    folder = write_scenario("my-app", tmp_path / "my-app")
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert written == [
        "ansible/playbook.yml",
        "custom/desired_state.yml",
        "pyinfra/deploy.py",
        "salt/my_app/init.sls",
        "salt/top.sls",
        "scenario.yaml",
        "verify/test_my_app.py",
    ]
    settings = check_files(load_settings(overrides={"scenarios": [str(folder)]}))
    (scenario,) = settings.scenarios
    assert (scenario.name, scenario.methods, scenario.vars) == (
        "my-app",
        ("salt", "ansible", "custom", "pyinfra"),
        {"my_app_motd": "managed by orka"},
    )
    with pytest.raises(OrkaError, match="exists"):
        write_scenario("my-app", folder)
    with pytest.raises(OrkaError, match="lower-case"):
        write_scenario("My App", tmp_path / "other")


def test_the_pillar_top_merges_the_scenarios_own(tmp_path: Path) -> None:
    assert json.loads(pillar_top(tmp_path)) == {"base": {"*": ["orka", "orka_vars"]}}
    (tmp_path / "pillar").mkdir()
    (tmp_path / "pillar" / "top.sls").write_text(
        "base:\n  '*': [common]\n  'orka-node-1': [primary]\ndev:\n  '*': [x]\n"
    )
    assert json.loads(pillar_top(tmp_path)) == {
        "base": {"*": ["orka", "orka_vars", "common"], "orka-node-1": ["primary"]},
        "dev": {"*": ["x"]},
    }


@pytest.mark.parametrize(
    ("name", "props", "problem"),
    [
        ("test_apply[web-salt-orka-node-1]", {"scenario": "web"}, None),
        ("test_highstate_converges[web]", {"scenario": "web"}, None),
        ("test_apply[salt-orka-node-1]", {"scenario": "example"}, None),
        ("test_apply[web-salt-orka-node-1]", {"scenario": "other"}, "does not begin with a method"),
    ],
)
def test_junit_names_with_a_scenario(name: str, props: dict[str, str], problem: str | None) -> None:
    node = name.rsplit("-", 3)[-3:] if "node" in name else None
    full = {**props, "method": "salt", "phase": "apply", "duration_s": "1.0"}
    if node:
        full["node"] = "orka-node-1"
    problems = _spike_case_problems("spikes.web.salt", name, full)
    assert (problem is None and problems == []) or any(problem in p for p in problems if problem), problems


def test_not_written_and_not_defined_cells() -> None:
    written = Record(
        "r", "ansible", "up", scenario="web", verdict=NOT_WRITTEN, notes=("not written: web has no ansible/",)
    )
    up = Record("r", "salt", "up", scenario="web", verdict="pass")
    orchestrate = Record("r", "salt", "orchestrate", scenario="web", verdict=NOT_DEFINED, notes=("declares none",))
    views = {v.name: v for v in method_views([written, up, orchestrate], section="web")}
    assert {c.status for c in views["ansible"].cells} == {"not-written"}
    assert not views["ansible"].written
    cell = next(c for c in views["salt"].cells if c.phase == "orchestrate")
    assert (cell.status, cell.label, cell.notes) == ("not-defined", NOT_DEFINED, ("declares none",))
    assert cell.anchor == "failure-web-salt-orchestrate"
    assert views["salt"].judged == len(views["salt"].cells) - 1  # a phase not defined counts neither way


def test_a_package_is_probed_by_its_name_not_by_a_command_of_that_name() -> None:
    """openssh-client (on this host, orka's ssh) has no command of its name; the probe asks the package manager."""
    leaves = Leaves(packages=("openssh-client", "no-such-package-orka"))
    found = subprocess.run(["bash", "-c", leaves.probe], capture_output=True, text=True, check=True).stdout
    assert found.splitlines() == ["package openssh-client"]

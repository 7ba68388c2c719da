"""Unit tests of orka.report.junit: the JUnit contract Bamboo reads, its check, and the run's facts.

data/junit/salt.xml was written by a real `pytest spikes/ -m salt` run (3 nodes,
docker provider); the broken variants are made from it here, one fault each.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from orka.config.settings import load_settings
from orka.report import junit
from orka.report.matrix import page_verdicts
from orka.report.records import Record

SAMPLE = Path(__file__).parent / "data" / "junit" / "salt.xml"
NODES = ["orka-node-1", "orka-node-2", "orka-node-3"]


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in root.iter("testcase")}


def props(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def drop_property(case: ET.Element, name: str) -> None:
    properties = case.find("properties")
    assert properties is not None
    properties.remove(next(p for p in properties if p.get("name") == name))


def variant(tmp_path: Path, change: Callable[[ET.Element], None]) -> Path:
    tree = ET.parse(SAMPLE)
    change(tree.getroot())
    path = tmp_path / "junit.xml"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


# --- the recorded sample -------------------------------------------------------------------------


def test_the_recorded_salt_run_is_valid() -> None:
    assert junit.validate_junit(SAMPLE) == []


def test_the_recorded_sample_holds_no_secret() -> None:
    assert "PRIVATE KEY" not in SAMPLE.read_text()


def test_the_sample_has_a_testcase_per_phase_and_node() -> None:
    names = cases(ET.parse(SAMPLE).getroot())
    for phase in ("ping", "apply", "idempotence", "orchestrate"):
        for node in NODES:
            case = names[f"test_{phase}[salt-{node}]"]
            assert props(case) == {
                "scenario": "example",
                "method": "salt",
                "phase": phase,
                "node": node,
                "duration_s": props(case)["duration_s"],
            }
    # The whole-phase checks stay, with the same phase duration as their nodes'.
    whole = names["test_highstate_converges"]
    assert props(whole)["phase"] == "apply"
    assert props(whole)["duration_s"] == props(names["test_apply[salt-orka-node-2]"])["duration_s"]
    verify = props(names["test_desired_state.test_node_conf[salt-orka-node-2]"])
    assert verify["phase"] == "verify"
    assert verify["check"] == "test_node_conf"
    assert verify["node"] == "orka-node-2"


def test_the_sample_suite_says_what_it_ran_on() -> None:
    suite = ET.parse(SAMPLE).getroot().find("testsuite")
    assert suite is not None
    found = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert found["provider"] == "docker"
    assert found["cluster_size"] == "3"
    assert found["run_id"]


# --- broken variants -----------------------------------------------------------------------------


def _drop(name: str, prop: str) -> Callable[[ET.Element], None]:
    return lambda root: drop_property(cases(root)[name], prop)


def _rename(name: str, new: str) -> Callable[[ET.Element], None]:
    return lambda root: cases(root)[name].set("name", new)


def _set(name: str, prop: str, value: str) -> Callable[[ET.Element], None]:
    def change(root: ET.Element) -> None:
        case = cases(root)[name]
        next(p for p in case.iter("property") if p.get("name") == prop).set("value", value)

    return change


def _duplicate(name: str) -> Callable[[ET.Element], None]:
    def change(root: ET.Element) -> None:
        suite = root.find("testsuite")
        assert suite is not None
        suite.append(cases(root)[name])

    return change


BROKEN = {
    "per-node case without node": (_drop("test_apply[salt-orka-node-2]", "node"), "no node property"),
    "case without method": (_drop("test_ping[salt-orka-node-1]", "method"), "no method property"),
    "case without phase": (_drop("test_highstate_converges", "phase"), "no phase property"),
    "case without duration": (_drop("test_idempotence[salt-orka-node-3]", "duration_s"), "no duration_s property"),
    "verify case without check": (
        _drop("test_desired_state.test_node_conf[salt-orka-node-1]", "check"),
        "no check property",
    ),
    "name without method": (
        _rename("test_apply[salt-orka-node-2]", "test_apply[orka-node-2]"),
        "does not begin with a method",
    ),
    "name of no test": (_rename("test_apply[salt-orka-node-2]", "apply on orka-node-2"), "the name reads neither"),
    "name and node disagree": (_set("test_apply[salt-orka-node-2]", "node", "orka-node-3"), "the name says"),
    "unknown phase": (_set("test_apply[salt-orka-node-2]", "phase", "deploy"), "phase='deploy' is none of"),
    "duration not a number": (_set("test_apply[salt-orka-node-2]", "duration_s", "soon"), "not a number of seconds"),
    "the same case twice": (_duplicate("test_apply[salt-orka-node-2]"), "appears twice"),
}


@pytest.mark.parametrize(("change", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_variant_is_reported(tmp_path: Path, change: Callable[[ET.Element], None], expected: str) -> None:
    problems = junit.validate_junit(variant(tmp_path, change))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_a_problem_names_its_testcase(tmp_path: Path) -> None:
    (problem,) = junit.validate_junit(variant(tmp_path, _drop("test_apply[salt-orka-node-2]", "node")))
    assert problem.startswith("spikes.salt::test_apply[salt-orka-node-2]: ")


def test_no_testcases(tmp_path: Path) -> None:
    def empty(root: ET.Element) -> None:
        for suite in root.iter("testsuite"):
            for case in list(suite.iter("testcase")):
                suite.remove(case)

    path = variant(tmp_path, empty)
    assert junit.validate_junit(path) == [f"{path}: no testcases"]


def test_no_file_or_no_xml(tmp_path: Path) -> None:
    assert junit.validate_junit(tmp_path / "missing.xml") == [f"{tmp_path / 'missing.xml'}: no such file"]
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testsuite>")
    (problem,) = junit.validate_junit(broken)
    assert "not readable JUnit XML" in problem


def test_other_tests_are_not_held_to_the_spike_names(tmp_path: Path) -> None:
    path = tmp_path / "unit.xml"
    path.write_text(
        '<testsuites><testsuite name="orka"><testcase classname="tests.unit.test_spec" name="builds the plan"/>'
        "</testsuite></testsuites>"
    )
    assert junit.validate_junit(path) == []


PAIR = {"method": "salt", "compared_with": "ansible", "phase": "equivalence", "node": "orka-node-1", "duration_s": "0"}


def pair_case(tmp_path: Path, name: str, **changed: str) -> Path:
    properties = "".join(f'<property name="{k}" value="{v}"/>' for k, v in {**PAIR, **changed}.items())
    path = tmp_path / "junit.xml"
    path.write_text(
        f'<testsuites><testsuite name="pytest"><testcase classname="spikes.equivalence" name="{name}">'
        f"<properties>{properties}</properties></testcase></testsuite></testsuites>"
    )
    return path


@pytest.mark.parametrize(
    ("name", "changed", "expected"),
    [
        ("test_same_server[salt-ansible-orka-node-1]", {}, None),
        ("test_same_server[web-salt-ansible-orka-node-1]", {"scenario": "web"}, None),
        ("test_same_server[salt-ansible-orka-node-1]", {"node": "orka-node-2"}, "property node='orka-node-2'"),
        ("test_same_server[salt-custom-orka-node-1]", {}, "compared_with='ansible' but the name says 'custom'"),
        (
            "test_same_server[salt-chef-orka-node-1]",
            {"compared_with": "chef"},
            "'chef' is none of salt, ansible, custom",
        ),
        ("test_same_server[salt-ansible]", {}, "reads not test_<what>[<method>-<method>-<node>]"),
    ],
)
def test_a_comparison_of_two_methods_names_both_and_the_node(
    tmp_path: Path, name: str, changed: dict[str, str], expected: str | None
) -> None:
    problems = junit.validate_junit(pair_case(tmp_path, name, **changed))
    if expected is None:
        assert problems == []
    else:
        (problem,) = problems
        assert expected in problem


# --- python -m orka.report.junit ------------------------------------------------------------------------


def test_main_exits_0_on_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert junit.main([str(SAMPLE)]) == 0
    assert "57 testcases, fine" in capsys.readouterr().out


def test_main_exits_1_printing_the_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = variant(tmp_path, _drop("test_apply[salt-orka-node-2]", "node"))
    assert junit.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "test_apply[salt-orka-node-2]: no node property" in out
    assert "1 problem(s)" in out


# --- what the conftest writes ---------------------------------------------------------------------


def test_case_properties_in_their_order() -> None:
    assert junit.case_properties("salt", "apply", "orka-node-2", 39.4287) == [
        ("method", "salt"),
        ("phase", "apply"),
        ("node", "orka-node-2"),
        ("duration_s", "39.429"),
    ]
    assert junit.case_properties("ansible", "verify", "orka-node-1", 0.5, check="test_node_conf") == [
        ("method", "ansible"),
        ("phase", "verify"),
        ("node", "orka-node-1"),
        ("check", "test_node_conf"),
        ("duration_s", "0.500"),
    ]
    assert junit.case_properties("custom", "ping", None, 0.3) == [
        ("method", "custom"),
        ("phase", "ping"),
        ("duration_s", "0.300"),
    ]


# --- the facts of the run -------------------------------------------------------------------------


def write_results(path: Path, run_id: str) -> None:
    common = {"run_id": run_id, "cluster_size": 5, "provider": "docker", "node_os": "Debian GNU/Linux 12 (bookworm)"}
    path.write_text(
        json.dumps(
            [
                {**common, "run_id": "an-older-run", "method": "salt", "tool_version": "salt 3007.1"},
                {**common, "method": "salt", "phase": "ping", "node": None, "tool_version": "salt 3008.4 (Argon)"},
                {**common, "method": "custom", "phase": "ping", "node": None, "tool_version": "orka-runner 0.1.0"},
            ]
        )
    )


def test_suite_properties_are_what_the_run_found(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    write_results(results, "run-1")
    settings = load_settings(None, {"provider": "auto", "cluster": 3})
    assert junit.suite_properties(settings, results, "run-1") == {
        "provider": "docker",
        "cluster_size": "5",
        "run_id": "run-1",
    }
    # Before anything recorded (the cluster never came up): what the settings asked for.
    assert junit.suite_properties(settings, tmp_path / "none.json", "run-1") == {
        "provider": "auto",
        "cluster_size": "3",
        "run_id": "run-1",
    }


def test_the_environment_table_before_and_after_the_run(tmp_path: Path) -> None:
    pins = tmp_path / "wheelhouse.txt"
    pins.write_text("# the pins\nsalt==3008.4\nansible-core==2.19.14  # the last for Python 3.11\n")
    settings = load_settings(None, {"provider": "auto"})
    before = junit.environment(settings, "run-1", pins)
    assert before["Settings file"] == "settings/user_settings.yaml"
    assert before["Provider"] == "auto"
    assert before["Tools"]["salt"] == "3008.4 (pinned)"
    assert before["Tools"]["ansible-core"] == "2.19.14 (pinned)"

    results = tmp_path / "results.json"
    write_results(results, "run-1")
    after = junit.recorded_environment(settings, results, "run-1")
    assert after["Provider"] == "docker (settings: auto)"
    assert after["Methods"] == "salt, custom (settings: salt, ansible, custom, pyinfra)"
    assert after["Tools (as run)"] == {"salt": "salt 3008.4 (Argon)", "custom": "orka-runner 0.1.0"}
    assert after["Node OS"] == "Debian GNU/Linux 12 (bookworm)"


def test_the_comparison_link_is_relative_to_the_html_report() -> None:
    reports = Path("/repo/reports")
    link = junit.comparison_link(reports / "pytest.html", reports / "comparison.html")
    assert '<a href="comparison.html">' in link
    elsewhere = junit.comparison_link(Path("/tmp/out/run.html"), reports / "comparison.html")
    assert '<a href="../../repo/reports/comparison.html">' in elsewhere


# --- one verdict: what JUnit says of each phase is what the page shows -----------------------------

RUN = Path(__file__).parent / "data" / "run"  # a real `pytest spikes/` run: its junit.xml and results.json


def _page(records: list[dict[str, object]]) -> dict[junit.VerdictKey, bool]:
    return page_verdicts([Record.of(r) for r in records])


def test_a_recorded_run_says_on_the_page_what_junit_says_testcase_by_testcase() -> None:
    cases = junit.testcase_verdicts(RUN / "junit.xml")
    page = _page(json.loads((RUN / "results.json").read_text()))

    assert junit.verdict_mismatches(cases, page) == []
    # Every phase testcase was matched: whole phases, each node of each, each verify check of each node.
    # 3 methods: 5 phases x (1 + 3 nodes), 15 checks, drift (1 + 3 nodes + the 15 checks again)
    assert len(cases) == 3 * (5 * (1 + 3) + 15 + (1 + 3 + 15))
    assert all(page.get(key) is not None for key, _ in cases.values())


def test_a_testcase_that_failed_where_the_page_shows_pass_is_named(tmp_path: Path) -> None:
    tree = ET.parse(RUN / "junit.xml")
    case = next(c for c in tree.getroot().iter("testcase") if c.get("name") == "test_apply[ansible-orka-node-2]")
    ET.SubElement(case, "failure", message="orka-node-2: a fresh node must be changed by the first apply, it was not")
    tree.write(tmp_path / "junit.xml")

    problems = junit.verdict_mismatches(
        junit.testcase_verdicts(tmp_path / "junit.xml"), _page(json.loads((RUN / "results.json").read_text()))
    )

    assert problems == [
        "spikes.ansible::test_apply[ansible-orka-node-2]: failed, "
        "the page shows PASS for example ansible apply orka-node-2"
    ]


def test_a_record_whose_verdict_disagrees_with_its_testcase_is_named() -> None:
    records = json.loads((RUN / "results.json").read_text())
    for record in records:
        if (record["method"], record["phase"], record["node"]) == ("salt", "idempotence", None):
            record["verdict"] = "fail"

    problems = junit.verdict_mismatches(junit.testcase_verdicts(RUN / "junit.xml"), _page(records))

    assert problems == [
        "spikes.salt::test_second_highstate_changes_nothing: passed, the page shows FAIL for example salt idempotence"
    ]


def test_python_m_orka_junit_with_results_checks_the_verdicts_agree(tmp_path: Path) -> None:
    assert junit.main([str(RUN / "junit.xml"), "--results", str(RUN / "results.json")]) == 0
    records = json.loads((RUN / "results.json").read_text())
    broken = [
        r for r in records if not (r["phase"] == "verify" and r["node"] == "orka-node-1" and r["method"] == "custom")
    ]
    (tmp_path / "results.json").write_text(json.dumps(broken))
    assert junit.main([str(RUN / "junit.xml"), "--results", str(tmp_path / "results.json")]) == 1


# --- the names junit_names.py gives ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodeid", "package", "method", "phase", "check", "expected"),
    [
        (
            "spikes/salt/test_salt.py::test_apply[salt-orka-node-1]",
            "spikes", "salt", "apply", False,
            ("spikes.salt", "test_apply[salt-orka-node-1]"),
        ),
        (
            "spikes/example/verify/test_desired_state.py::test_node_conf[ansible-orka-node-2]",
            "spikes", "ansible", "verify", True,
            ("spikes.ansible", "test_desired_state.test_node_conf[ansible-orka-node-2]"),
        ),
        (
            "../team/checks/verify/test_nginx.py::TestProxy::test_listens[web-custom-orka-node-3-repaired]",
            "acme.web", "custom", "drift", True,
            ("acme.web.custom", "test_nginx.TestProxy.test_listens[web-custom-orka-node-3-repaired]"),
        ),
        (
            "spikes/equivalence.py::test_same_server[salt-ansible-orka-node-1]",
            "spikes.web", "salt", "equivalence", False,
            ("spikes.web.equivalence", "test_same_server[salt-ansible-orka-node-1]"),
        ),
    ],
)  # fmt: skip
def test_each_method_is_one_class_and_a_check_is_named_by_its_module(
    nodeid: str, package: str, method: str, phase: str, check: bool, expected: tuple[str, str]
) -> None:
    classname, name = junit.testcase_names(nodeid, package, method, phase, check, "")
    assert (classname, name) == expected
    props = {"method": method, "phase": phase, "duration_s": "1.0", "node": "orka-node-1"}
    if phase == "equivalence":
        props["compared_with"] = "ansible"
    if check:
        props["check"] = name.split("[")[0].rsplit(".", 1)[-1]
    # What it names is what validate_junit holds a spike testcase to (its node aside).
    problems = junit._spike_case_problems(classname, name, {**props, "scenario": "web"})
    assert not [p for p in problems if "classname" in p or "reads" in p], problems


def test_a_testcase_outside_its_methods_class_is_named(tmp_path: Path) -> None:
    (problem,) = junit.validate_junit(
        variant(
            tmp_path, lambda root: cases(root)["test_apply[salt-orka-node-2]"].set("classname", "spikes.salt.test_salt")
        )
    )
    assert "does not end in .salt" in problem

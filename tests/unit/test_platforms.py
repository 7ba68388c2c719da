"""Platforms: the settings that choose them, the test IDs and JUnit names they give, the page's matrix of them.

The platforms' real runs (images built, tools installed for each Python, every phase) are
tests/integration/test_platforms.py and CI's `make spike-platforms`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orka.config.platforms import DEFAULT_PLATFORM, PLATFORMS, REDHAT, on_platform, platform
from orka.config.settings import load_settings
from orka.errors import SettingsError
from orka.report import junit
from orka.report.page import render_comparison
from orka.report.platforms import platform_matrix
from orka.report.records import Record, load_results
from orka.results.record import HostOutcome, PhaseResult, RunContext
from orka.results.record import records as records_of
from orka.results.store import append_records
from orka.results.verdict import Expectations, judge
from tests.unit.test_collection_order import collect
from tests.unit.test_report import parse

NODES = ("orka-node-1", "orka-node-2", "orka-node-3")


# -- settings -------------------------------------------------------------------


def problems(overrides: dict[str, object]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, overrides)
    return caught.value.problems


def test_the_default_is_debian_12_alone_and_its_box_is_the_vm_providers() -> None:
    settings = load_settings(None)
    assert [p.name for p in settings.platforms] == [DEFAULT_PLATFORM] == ["debian-12"]
    assert settings.vm_box == "debian/bookworm64"
    assert load_settings(None, {"platforms": ["centos-stream-9"]}).vm_box == "centos/stream9"
    assert load_settings(None, {"platforms": ["debian-13"], "box": "orka/bookworm"}).vm_box == "orka/bookworm"


def test_platforms_keep_the_users_order() -> None:
    settings = load_settings(None, {"platforms": ["debian-13", "debian-12"]})
    assert [p.name for p in settings.platforms] == ["debian-13", "debian-12"]
    assert settings.platform.name == "debian-13"
    assert settings.to_dict()["platforms"] == ["debian-13", "debian-12"]


def test_an_unknown_platform_names_its_near_miss_and_every_known_one() -> None:
    found = problems({"platforms": ["debian-14"]})
    assert len(found) == 1
    assert "'debian-14' is not a known platform (did you mean 'debian-13'?)" in found[0]
    assert all(p.name in found[0] for p in PLATFORMS)


def test_a_platform_listed_twice_is_refused() -> None:
    assert any("'debian-13' is listed twice" in p for p in problems({"platforms": ["debian-13", "debian-13"]}))


def test_a_platform_the_docker_provider_cannot_build_is_refused_before_boot_with_the_fix() -> None:
    found = problems({"provider": "docker", "platforms": ["debian-12", "rocky-9"]})
    assert len(found) == 1
    assert "platform rocky-9 has no node image recipe for the docker provider" in found[0]
    assert "provider: libvirt or virtualbox (box rockylinux/9)" in found[0]
    assert "debian-12, debian-13" in found[0]


def test_one_box_for_several_platforms_is_refused() -> None:
    found = problems({"platforms": ["debian-12", "debian-13"], "box": "orka/bookworm"})
    assert any(p.startswith("box (override): 'orka/bookworm' for 2 platforms") for p in found)


def test_every_platform_has_an_image_recipe_or_a_box_and_a_python_the_tools_run_on() -> None:
    for each in PLATFORMS:
        assert each.box, each
        assert tuple(int(part) for part in each.python.split(".")) >= (3, 10), each  # salt 3008, ansible-core 2.19
        assert each.docker == (each.family != REDHAT), each


def test_a_scenario_on_the_default_platform_keeps_its_name() -> None:
    assert on_platform("web", "debian-12") == "web"
    assert on_platform("web", "") == "web"  # records of an older orka
    assert on_platform("web", "debian-13") == "web on debian-13"


# -- test IDs and JUnit names ---------------------------------------------------------


def test_the_default_platforms_ids_are_unchanged_and_anothers_carry_its_name(tmp_path: Path) -> None:
    alone = collect(tmp_path / "alone", ("salt", "custom"))
    both = collect(tmp_path / "both", ("salt", "custom"), extra=("--platform", "debian-12", "--platform", "debian-13"))
    assert len(both.ids) == 2 * len(alone.ids)
    default = [i.removesuffix("[debian-12]") for i in both.ids if "debian-13" not in i]
    # The same names but a whole phase's `[debian-12]` (JUnit drops it), in the same order.
    assert default == alone.ids
    assert "spikes/salt/test_salt.py::test_every_node_fresh_and_ready[debian-13]" in both.ids
    assert "spikes/salt/test_salt.py::test_apply[debian-13-salt-orka-node-1]" in both.ids
    assert (
        "spikes/example/verify/test_desired_state.py::test_cluster_json_spread_from_the_primary[debian-13-custom-orka-node-3]"
        in both.ids
    )
    # Each platform's methods in order, the default platform's first.
    assert [i.removesuffix("[debian-12]") for i in both.ids[: len(alone.ids)]] == alone.ids


def test_junit_puts_another_platforms_testcases_under_a_package_of_its_own() -> None:
    nodeid = "spikes/salt/test_salt.py::test_apply[debian-13-salt-orka-node-1]"
    assert junit.testcase_names(nodeid, "spikes", "salt", "apply", False, "debian-13") == (
        "spikes.debian-13.salt",
        "test_apply[debian-13-salt-orka-node-1]",
    )
    plain = "spikes/salt/test_salt.py::test_apply[salt-orka-node-1]"
    assert junit.testcase_names(plain, "spikes", "salt", "apply", False, "debian-12") == (
        "spikes.salt",
        "test_apply[salt-orka-node-1]",
    )
    # A whole phase's test on the default platform keeps the name a run of one platform gives it.
    whole = "spikes/salt/test_salt.py::test_every_node_fresh_and_ready[debian-12]"
    assert junit.testcase_names(whole, "spikes", "salt", "up", False, "") == (
        "spikes.salt",
        "test_every_node_fresh_and_ready",
    )
    props = dict(junit.case_properties("salt", "apply", "orka-node-1", 1.0, None, "example", "debian-13"))
    assert props["platform"] == "debian-13"
    assert "platform" not in dict(
        junit.case_properties("salt", "apply", "orka-node-1", 1.0, None, "example", "debian-12")
    )


# -- records and the page ---------------------------------------------------------


def record_run(path: Path, outcomes: dict[tuple[str, str], bool]) -> None:
    """Records of the example's up and apply by (platform, method), passed or failed on orka-node-2."""
    for (platform_name, method), ok in outcomes.items():
        node_os = "Debian GNU/Linux 13 (trixie)" if platform_name == "debian-13" else "Debian GNU/Linux 12 (bookworm)"
        context = RunContext("run-1", 3, "docker", "1.0", node_os=node_os, scenario="example", platform=platform_name)
        for phase in ("up", "ping", "apply", "idempotence"):
            changed = int(phase == "apply")  # a fresh node's apply changes it, a second one not
            hosts = tuple(
                HostOutcome(n, ok=ok or n != "orka-node-2", changed=changed, failed=int(not ok and n == "orka-node-2"))
                for n in NODES
            )
            result = PhaseResult(method, phase, hosts, 2.5 if phase == "apply" else 9.0)
            append_records(path, records_of(result, context, judge(result, Expectations(NODES, tool=method))))


def test_records_carry_the_platform_and_reports_compare_within_it(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    record_run(results, {("debian-12", "salt"): True, ("debian-13", "salt"): False})
    found = load_results(results)
    assert {r.platform for r in found} == {"debian-12", "debian-13"}
    assert {r.variant for r in found} == {"example", "example on debian-13"}
    assert Record.of({"run_id": "r", "method": "salt", "phase": "up"}).variant == ""  # an older orka's


def test_the_page_has_a_method_by_platform_matrix(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    record_run(
        results,
        {("debian-12", "salt"): True, ("debian-13", "salt"): False, ("debian-12", "custom"): True},
    )
    view = platform_matrix(load_results(results))
    assert view is not None
    assert view.platforms == ("debian-12", "debian-13")
    cells = {(row.method, c.platform): c for row in view.rows for c in row.cells}
    assert cells[("salt", "debian-12")].status == "incomplete"  # no orchestrate, verify nor drift recorded
    assert (cells[("salt", "debian-12")].passed, cells[("salt", "debian-12")].judged) == (4, 7)
    assert cells[("salt", "debian-13")].status == "fail"
    assert cells[("salt", "debian-13")].node_os == "Debian GNU/Linux 13 (trixie)"
    assert cells[("custom", "debian-13")].status == "not-run"
    assert cells[("salt", "debian-12")].apply_s == 2.5
    page = parse(render_comparison(results, tmp_path / "comparison.html", bench_path=None, scale_dir=None).read_text())
    table = page.find("table", id="platforms-table")
    salt = table.find("tr", data_method="salt")
    assert salt.find("td", data_platform="debian-13").attrs["data-status"] == "fail"
    assert "Debian GNU/Linux 13 (trixie)" in salt.find("td", data_platform="debian-13").text()
    # Each platform's section of its own, the default platform's under the scenario's bare name.
    assert {h.attrs.get("data-scenario") for h in page.find_all("h3")} >= {"example", "example on debian-13"}


def test_a_run_on_one_platform_has_no_platform_matrix(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    record_run(results, {("debian-13", "salt"): True, ("debian-13", "custom"): True})
    assert platform_matrix(load_results(results)) is None


def test_each_platform_is_known_by_name() -> None:
    assert platform("debian-13").suite == "trixie"
    assert platform("debian-13").python_tag == "cp313"
    with pytest.raises(KeyError):
        platform("debian-14")

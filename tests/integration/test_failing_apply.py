"""A desired state that fails on one node: Salt and Ansible each fail that node alone, in the tool's words.

One cluster (orka-failing: orka-master, ansible-master and three nodes) whose
settings name the small scenario data/failing_apply/ (salt/ and ansible/
alone, no checks): every node gets a file, and a command that exits 3 on
orka-node-2 until /var/tmp/orka-fixed exists there. Each method applies it
(orka-node-2 fails, the others pass), then again once the node is fixed (every
node passes). The tool's exit code of each apply is printed (PhaseResult does
not carry it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from orka.config.preflight import check_files
from orka.config.settings import Settings, load_settings
from orka.methods.base import load_method
from orka.progress import to_stderr
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.results.record import PhaseResult
from orka.results.verdict import Expectations, judge

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("failing-apply")]

CLUSTER = "orka-failing"
DATA = Path(__file__).parent / "data" / "failing_apply"
FAILING_NODE = "orka-node-2"
FIXED = "/var/tmp/orka-fixed"  # the trees' command passes on orka-node-2 once this exists
# What each tool says of the command that exited 3, in its own words.
OWN_WORDS = {"salt": 'Command "test -e /var/tmp/orka-fixed || exit 3" run', "ansible": "non-zero return code"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings as a user writes them, through orka's validation and pre-flight."""
    path = tmp_path_factory.mktemp("failing-apply") / "settings.yaml"
    values = {
        "cluster": 3,
        "provider": "docker",
        "methods": ["salt", "ansible"],
        "scenarios": [str(DATA)],
    }
    path.write_text(yaml.safe_dump(values))
    return check_files(load_settings(path))


@pytest.fixture(scope="module")
def cluster(pytestconfig: pytest.Config, settings: Settings) -> Iterator[Cluster]:
    keep, reuse = pytestconfig.getoption("keep_cluster"), pytestconfig.getoption("reuse_cluster")
    with started(settings, name=CLUSTER, keep=keep, reuse=reuse, emit=to_stderr) as up:
        yield up


# What the tool exits with when a task fails on one host (salt: its --static output carries the failure).
EXIT_WHEN_A_HOST_FAILS = {"salt": 0, "ansible": 2}


def explain(result: PhaseResult, code: int | None) -> str:
    problems = "; ".join(result.problems()) or "ok"
    return f"{result.method} {result.phase} in {result.duration_s:.1f} s, exit {code}: {problems}"


@pytest.mark.parametrize("name", ["salt", "ansible"])
def test_a_step_failing_on_one_node_fails_that_node_alone(cluster: Cluster, settings: Settings, name: str) -> None:
    method = load_method(name)(cluster, settings.timeouts.command_s, settings.scenarios[0])
    waited = method.wait_ready()
    assert waited < settings.timeouts.command_s, f"{name}: the nodes were not ready to drive"
    nodes = [n.name for n in cluster.nodes]
    cluster.run(FAILING_NODE, f"sudo rm -f {FIXED}")

    failing = method.apply()
    failing_exit = failing.exit_code
    to_stderr(f"[test] {explain(failing, failing_exit)}")
    assert not failing.error, explain(failing, failing_exit)
    assert not failing.ok
    for node in nodes:
        outcome = failing.host(node)
        assert outcome is not None, f"{explain(failing, failing_exit)}: no outcome for {node}"
        if node == FAILING_NODE:
            assert not outcome.ok, f"{node} must fail: {explain(failing, failing_exit)}"
            assert outcome.failed == 1, outcome
            assert OWN_WORDS[name] in outcome.detail, outcome.detail
        else:
            assert outcome.ok, f"{node} must pass: {outcome.detail}"
            assert outcome.changed >= 1, f"{node}: the first apply must change it: {outcome}"

    cluster.run(FAILING_NODE, f"sudo touch {FIXED}")
    try:
        fixed = method.apply()
        fixed_exit = fixed.exit_code
    finally:
        cluster.run(FAILING_NODE, f"sudo rm -f {FIXED}")
    to_stderr(f"[test] {explain(fixed, fixed_exit)}")
    assert fixed.ok, explain(fixed, fixed_exit)
    assert {h.node for h in fixed.hosts} == set(nodes)
    print(f"{name}: apply failing on {FAILING_NODE}: exit {failing_exit}; apply passing everywhere: exit {fixed_exit}")
    # orka's verdict of the failing apply: that node fails with the tool's words, the others and the phase's
    # exit code (a documented "a host failed", or salt's 0 under --static) do not.
    expect = Expectations(tuple(nodes), tool=method.tool, host_failure_codes=method.host_failure_codes)
    verdict = judge(failing, expect)
    assert verdict.whole.ok, verdict.reasons()
    assert [n for n, v in verdict.nodes.items() if not v.ok] == [FAILING_NODE]
    assert OWN_WORDS[name] in verdict.nodes[FAILING_NODE].reasons[0]
    assert (failing_exit, fixed_exit) == (EXIT_WHEN_A_HOST_FAILS[name], 0)

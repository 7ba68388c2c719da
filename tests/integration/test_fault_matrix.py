"""The fault matrix: every method under the same faults, on one real cluster, and whether it recovers.

One cluster (orka-matrix: both masters and three nodes) and the desired state of
tests/integration/data/faults (a folder, a slow step, a file). For each fault and each method, on nodes
reset to fresh: the fault is put on (for a fault in the middle of an apply: once the slow step is seen
running on the node), the method applies, the scenario's check runs on every node once the fault is off,
then the method applies again on the same cluster and the check runs again.

- packet loss: 10% of every packet the nodes send dropped, for the whole apply;
- node rebooted mid-apply: orka-node-3 killed and started again while the slow step runs there;
- sshd stopped mid-apply: on orka-node-3; that apply goes on over the sessions already open, and the next
  apply, the cell's, runs with sshd still stopped (an agent needs no sshd);
- a step that never ends: the slow step hangs on orka-node-3 (/etc/orka-hang there), under a command timeout
  of 30 s: the run must end within it, that node fail saying so, the others pass, and the step not run on;
- salt master restarted mid-apply: salt-master restarted on orka-master (Salt's alone).

Each cell asserts that the run under the fault ended within its timeout and said why any node failed (its
own words), that nothing was left behind (no fault rule, every machine up, sshd running), and that the next
apply converged every node with its check passing ("recovered"). Each cell is appended to
reports/faults.json (phase `fault`, condition, outcome, recovered, the times), which the comparison page
shows as its fault x method matrix.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.scenario import Scenario, load_scenario
from orka.config.settings import Settings
from orka.methods.base import Method, load_method
from orka.progress import to_stderr
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.results.faults import FAULTS_FILE, PARTIAL, FaultCell, fault_record
from orka.results.record import PhaseResult, RunContext
from orka.results.store import append_records
from orka.testing import faults

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("fault-matrix")]

CLUSTER = "orka-matrix"
METHODS = ("custom", "pyinfra", "ansible", "salt")
FAULTED = "orka-node-3"
LOSS_PERCENT = 10
TIMEOUT_S = 60  # the command timeout of every phase here
MARGIN_S = 15  # what a phase may take beyond it: the SSH round trip to a master and back
SEEN_WITHIN_S = 40  # the slow step must be seen running on the node within this, for a fault mid-apply
FAULTS_RECORDS = Path(os.environ.get("ORKA_REPORTS") or REPO_ROOT / "reports") / FAULTS_FILE
LOSS = f"packet loss {LOSS_PERCENT}%"
REBOOT = "node rebooted mid-apply"
SSHD = "sshd stopped mid-apply"
MASTER = "salt master restarted mid-apply"
HANG = "a step that never ends"
HANG_TIMEOUT_S = 30  # the hanging step's cell: its command timeout, which bounds it
HANG_MARK = "/etc/orka-hang"  # the faults scenario's slow step hangs on a node holding it
HANGING = "^sleep 3600"  # the step as it hangs (pgrep -f)
# Salt (orka stops the job still running on a minion) and the runner (the job's own bound on the host stops its
# process group) leave nothing running; Ansible's task timeout and pyinfra's per-command one give up on the step
# and leave it running on the node: recorded (`left_running`), as the page shows it, not an error of orka's.
STOPS_WHAT_IT_GAVE_UP_ON = ("salt", "custom")
RUN_ID = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())  # the session's: the page shows its latest cells


def _scenario() -> Scenario:
    scenario, problems = load_scenario(REPO_ROOT / "tests" / "integration" / "data" / "faults")
    assert scenario is not None, problems
    return scenario


SCENARIO = _scenario()
SLOW_STEP = str(SCENARIO.vars["slow_step"])


def _check() -> Callable[..., None]:
    """The scenario's own check, as its verify/ file defines it."""
    path = SCENARIO.path / "verify" / "test_state.py"
    spec = importlib.util.spec_from_file_location("fault_matrix_check", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check: Callable[..., None] = module.test_the_state_file_is_there
    return check


CHECK = _check()


@pytest.fixture(scope="module")
def cluster(pytestconfig: pytest.Config, orka_settings: Settings) -> Iterator[Cluster]:
    settings = dataclasses.replace(orka_settings, methods=METHODS, provider="docker", scenarios=(SCENARIO,))
    keep, reuse = pytestconfig.getoption("keep_cluster"), pytestconfig.getoption("reuse_cluster")
    with started(settings, name=CLUSTER, keep=keep, reuse=reuse, emit=to_stderr) as up:
        yield up


def nodes(cluster: Cluster) -> list[str]:
    return [n.name for n in cluster.nodes]


def timeout_of(fault: str) -> int:
    return HANG_TIMEOUT_S if fault == HANG else TIMEOUT_S


def ready(cluster: Cluster, name: str, timeout_s: int = TIMEOUT_S) -> Method:
    method = load_method(name)(cluster, timeout_s, SCENARIO)
    waited = method.wait_ready()
    assert waited < timeout_s, f"{name}: the nodes were not ready to drive within {timeout_s} s"
    return method


def checked(cluster: Cluster) -> dict[str, bool]:
    """The scenario's check on every node (one that cannot be reached fails it)."""
    passed = {}
    for node in nodes(cluster):
        try:
            CHECK(cluster.host(node))
            passed[node] = True
        except Exception:  # an assertion, or a node SSH cannot reach: the check did not pass
            passed[node] = False
    return passed


def fresh(cluster: Cluster) -> None:
    """Every machine up, sshd running, no fault rule, and none of the desired state on the nodes."""
    stopped = [m.name for m in cluster.machines if not faults.is_running(cluster, m.name)]
    if stopped:
        faults.start_machines(cluster, stopped)
    faults.start_sshd(cluster, FAULTED)
    for node in nodes(cluster):
        reset = f"rm -rf /etc/orka-faults {HANG_MARK}; pkill -f '{HANGING}' || true"
        faults.in_machine(cluster, node, reset, f"resetting {node}")


def mid_apply(cluster: Cluster, method: Method, fault: Callable[[], None]) -> PhaseResult:
    """The method's apply, with the fault put on once the slow step is seen running on the faulted node."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(method.apply)
        seen = faults.wait_until_running(cluster, FAULTED, SLOW_STEP, SEEN_WITHIN_S)
        if seen:
            fault()
        result = running.result()
    assert seen, f"{method.name}: the slow step never ran on {FAULTED}: {'; '.join(result.problems())}"
    return result


def under(fault: str, cluster: Cluster, method: Method) -> tuple[PhaseResult, tuple[str, ...]]:
    """The run under the fault, and the nodes it was put on; the fault is off again after."""
    if fault == LOSS:
        with faults.packet_loss(cluster, nodes(cluster), LOSS_PERCENT):
            return method.apply(), tuple(nodes(cluster))
    if fault == REBOOT:
        return mid_apply(cluster, method, lambda: faults.restart_machine(cluster, FAULTED)), (FAULTED,)
    if fault == SSHD:
        first = mid_apply(cluster, method, lambda: faults.stop_sshd(cluster, FAULTED))
        assert first.duration_s <= TIMEOUT_S + MARGIN_S, f"{method.name}: the apply sshd stopped under did not end"
        try:
            return method.apply(), (FAULTED,)
        finally:
            faults.start_sshd(cluster, FAULTED)
    if fault == HANG:
        faults.in_machine(cluster, FAULTED, f"touch {HANG_MARK}", f"marking {FAULTED} to hang")
        try:
            return method.apply(), (FAULTED,)
        finally:
            faults.in_machine(cluster, FAULTED, f"rm -f {HANG_MARK}", f"unmarking {FAULTED}")
    if fault == MASTER:

        def restart() -> None:
            faults.in_machine(cluster, "orka-master", "systemctl restart salt-master", "restarting salt-master")

        return mid_apply(cluster, method, restart), ()
    raise AssertionError(f"no such fault: {fault}")


def still_running(cluster: Cluster) -> tuple[str, ...]:
    """The hanging step, if it still runs on its node after the method gave up on it."""
    if faults.in_machine(cluster, FAULTED, f"pgrep -f '{HANGING}' || true", "the hanging step").strip():
        return (f"the hanging step on {FAULTED}",)
    return ()


def left_behind(cluster: Cluster) -> list[str]:
    """What a fault left on the cluster: a machine down, sshd stopped, a packet loss rule."""
    found = [f"{m.name} is down" for m in cluster.machines if not faults.is_running(cluster, m.name)]
    if "active" not in faults.in_machine(cluster, FAULTED, "systemctl is-active ssh || true", "sshd"):
        found.append(f"sshd stopped on {FAULTED}")
    for node in nodes(cluster):
        rules = faults.in_machine(cluster, node, "iptables -S OUTPUT 2>/dev/null || true", f"rules of {node}")
        if "statistic" in rules:
            found.append(f"packet loss rule left on {node}")
    return found


CELLS = [(fault, method) for fault in (LOSS, REBOOT, SSHD, HANG) for method in METHODS] + [(MASTER, "salt")]


@pytest.mark.parametrize(("fault", "name"), CELLS, ids=[f"{f}-{m}" for f, m in CELLS])
def test_the_method_ends_under_the_fault_and_recovers(cluster: Cluster, fault: str, name: str) -> None:
    fresh(cluster)
    timeout_s = timeout_of(fault)
    method = ready(cluster, name, timeout_s)
    result, faulted = under(fault, cluster, method)
    after = checked(cluster)
    running = still_running(cluster)
    if running:  # what the method left is recorded; the recovery needs the node without it
        faults.in_machine(cluster, FAULTED, f"pkill -f '{HANGING}'", "stopping the hanging step")
    # The fault is off: the method finds the nodes as they are, and applies again.
    recovering = ready(cluster, name)
    recovery = recovering.apply()
    cell = FaultCell(name, fault, faulted, result, after, recovery, checked(cluster), running)
    context = RunContext(
        RUN_ID,
        len(cluster.nodes),
        cluster.spec.provider,
        method.version(),
        scenario=SCENARIO.name,
    )
    append_records(FAULTS_RECORDS, [fault_record(cell, context)])
    shown = f"{name} under {fault}: {cell.outcome}, {'recovered' if cell.recovered else 'NOT recovered'}"
    to_stderr(f"[matrix] {shown} ({result.duration_s:.1f} s / {recovery.duration_s:.1f} s): {cell.words()[:300]}")
    assert result.duration_s <= timeout_s + MARGIN_S, f"{shown}: the run took {result.duration_s:.1f} s"
    if not result.ok:
        failed = [h for h in result.hosts if not h.ok]
        assert result.error or all(h.detail for h in failed), f"{shown}: a node failed without a word of why"
    if fault == HANG:  # bounded on its node: the others passed
        assert cell.outcome == PARTIAL, f"{shown}: {cell.words()}"
    if name in STOPS_WHAT_IT_GAVE_UP_ON:
        assert running == (), f"{shown}: {name} left the step it gave up on running"
    assert left_behind(cluster) == []
    assert cell.recovered, f"{shown}: {'; '.join(recovery.problems())}; checks {cell.recovery_checks}"

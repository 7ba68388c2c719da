"""Faults on a real cluster: every method gives a per-node answer within its timeout, never a hang.

One cluster (orka-faults: orka-master, ansible-master and three nodes) serves
every test here, in file order: latency first (it leaves the cluster whole),
then a node stopped, then the masters stopped. A test first starts again the
machines it needs that an earlier test stopped, so one run alone, or out of
order, still finds them.

The latency test appends what it measured to reports/conditions.json (the
records of reports/results.json, each with its `condition`; every run under
its own run_id), for the comparison report: one run on a loaded machine is
noisy, several give a median.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import pytest

from orka.config import REPO_ROOT
from orka.config.settings import Settings, default_settings
from orka.methods.base import Method, load_method
from orka.progress import to_stderr
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.results.record import PhaseResult, RunContext, records
from orka.results.store import append_records
from orka.results.verdict import Expectations, judge
from orka.runner.ssh import read_ssh_config
from orka.testing import faults

EXAMPLE = default_settings().scenarios[0]  # the desired state the methods apply

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("faults")]

CLUSTER = "orka-faults"
METHODS = ("salt", "ansible", "custom", "pyinfra")
# The first apply on fresh nodes installs a package with apt; the custom runner, first, does it in
# one SSH session (pyinfra, next, finds it installed). Salt, last, then finds it installed: its own first
# apt run (an `apt-get update` too) can keep a minion too busy to answer salt's find_job on a loaded machine.
CONVERGE_ORDER = ("custom", "pyinfra", "ansible", "salt")
STOPPED_NODE = "orka-node-3"
# The command timeout of the fault tests: small, so a machine that is down costs little
# (salt: -t 10 s, then a gather_job_timeout of 15 s); large enough that a loaded 2-core
# machine does not fail the nodes that are up.
FAULT_TIMEOUT_S = 60
# What a phase may take beyond its command timeout: the SSH round trip to the master and back.
MARGIN_S = 15
DELAY_MS = 100
LATENCY = f"latency {DELAY_MS} ms"
CONDITIONS = REPO_ROOT / "reports" / "conditions.json"
# What each method says of a node that is down, in its own words (the runner's and pyinfra's: that they could
# not connect, then why, which varies: a stopped container's address may already be another's on docker's bridge,
# whose sshd refuses the cluster's key).
OWN_WORDS = {
    "salt": "Minion did not return",
    "ansible": "unreachable",
    "custom": "connection error",
    "pyinfra": "cannot connect",
}


@pytest.fixture(scope="module")
def settings(orka_settings: Settings) -> Settings:
    # Faults are put on docker containers (orka.testing.faults), whatever provider `auto` would find.
    return dataclasses.replace(orka_settings, methods=METHODS, provider="docker")


@pytest.fixture(scope="module")
def cluster(pytestconfig: pytest.Config, settings: Settings) -> Iterator[Cluster]:
    keep, reuse = pytestconfig.getoption("keep_cluster"), pytestconfig.getoption("reuse_cluster")
    with started(settings, name=CLUSTER, keep=keep, reuse=reuse, emit=to_stderr) as up:
        yield up


def node_names(cluster: Cluster) -> list[str]:
    return [n.name for n in cluster.nodes]


def whole(cluster: Cluster, needed: list[str] | None = None) -> None:
    """Start again the machines a test needs (all by default) that an earlier test stopped."""
    wanted = [m.name for m in cluster.machines] if needed is None else needed
    stopped = [name for name in wanted if not faults.is_running(cluster, name)]
    if stopped:
        to_stderr(f"[faults] starting again: {', '.join(stopped)}")
        faults.start_machines(cluster, stopped)


def ready(cluster: Cluster, name: str, timeout_s: int) -> Method:
    """The method, once every node can be driven, with timeout_s as its command timeout.

    Its own wait_ready, with its own timeout: Salt's sets the master's gather_job_timeout
    from it (what a silent minion costs), which must fit the command timeout of the phases.
    """
    method = load_method(name)(cluster, timeout_s, EXAMPLE)
    waited = method.wait_ready()
    assert waited < timeout_s, f"{name}: the nodes were not ready to drive within {timeout_s} s"
    return method


def connect_s(address: str) -> float:
    """Seconds to open a TCP connection to sshd at address (one round trip)."""
    start = time.monotonic()
    with socket.create_connection((address, 22), timeout=10):
        return time.monotonic() - start


def explain(result: PhaseResult) -> str:
    return f"{result.method} {result.phase} in {result.duration_s:.1f} s: " + ("; ".join(result.problems()) or "ok")


def test_under_latency_every_method_completes_within_its_timeout(cluster: Cluster, settings: Settings) -> None:
    """ping and the idempotent second apply of each method, on the same cluster, without and with
    latency on every node; each completes within its timeout, and the times are recorded."""
    whole(cluster)
    timeout_s = settings.timeouts.command_s
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    addresses = {n: read_ssh_config(cluster.paths.ssh_config)[n]["hostname"] for n in node_names(cluster)}
    node_os = cluster.run(cluster.nodes[0].name, ". /etc/os-release && echo $PRETTY_NAME").stdout.strip()
    problems: list[str] = []
    times: list[str] = []
    for name in CONVERGE_ORDER:
        method = ready(cluster, name, timeout_s)
        context = RunContext(
            run_id,
            len(cluster.nodes),
            cluster.spec.provider,
            method.version(),
            node_os=node_os,
            tuning=method.tuning,
            settings=settings.to_dict(),
        )
        # Each method converges the nodes to its own state first (node.conf names the method),
        # so its second apply has nothing to change, with or without latency.
        converged = method.apply()
        assert converged.ok, explain(converged)
        for condition in ("normal", LATENCY):
            fault = faults.latency(cluster, node_names(cluster), DELAY_MS) if condition == LATENCY else nullcontext()
            with fault:
                if condition == LATENCY:
                    quickest = min(connect_s(address) for address in addresses.values())
                    assert quickest >= 0.9 * DELAY_MS / 1000, f"latency not in effect: a connect took {quickest:.3f} s"
                for result in (method.ping(), method.apply("idempotence")):
                    judged = judge(result, Expectations(tuple(node_names(cluster))))
                    append_records(
                        CONDITIONS, records(result, dataclasses.replace(context, condition=condition), judged)
                    )
                    times.append(f"{name:8} {result.phase:12} {condition:14} {result.duration_s:6.1f} s")
                    if not result.ok:
                        problems.append(f"{condition}: {explain(result)}")
                    if result.duration_s > timeout_s + MARGIN_S:
                        problems.append(f"{condition}: {explain(result)}: longer than {timeout_s} s + {MARGIN_S} s")
    print("\n".join(times))
    assert not problems, "\n".join(problems)


def test_a_stopped_node_fails_alone_in_every_method_within_the_timeout(cluster: Cluster) -> None:
    """orka-node-3 stopped in the middle of a session: each method's ping and apply report it failed in
    the method's own words, orka-node-1 and -2 still pass, and every phase ends within the command timeout."""
    whole(cluster)
    methods = [ready(cluster, name, FAULT_TIMEOUT_S) for name in CONVERGE_ORDER]  # each has just reached every node
    faults.stop_machine(cluster, STOPPED_NODE)

    # The pings side by side (each from its own machine): most of their time is waiting for the node.
    with ThreadPoolExecutor(max_workers=len(methods)) as pool:
        results = list(pool.map(lambda method: method.ping(), methods))
    # The applies one after another: side by side they would fight over the nodes' package lock and files.
    results += [method.apply() for method in methods]
    problems: list[str] = []
    for result in results:
        if result.error:
            problems.append(explain(result))
        words = OWN_WORDS[result.method]
        for node in node_names(cluster):
            outcome = result.host(node)
            if outcome is None:
                problems.append(f"{explain(result)}: no outcome for {node}")
            elif node == STOPPED_NODE and (outcome.ok or words not in outcome.detail):
                problems.append(f"{explain(result)}: {node} must fail with {words!r}")
            elif node != STOPPED_NODE and not outcome.ok:
                problems.append(f"{explain(result)}: {node} is up and must pass")
        if result.duration_s > FAULT_TIMEOUT_S + MARGIN_S:
            problems.append(f"{explain(result)}: longer than {FAULT_TIMEOUT_S} s + {MARGIN_S} s")
    # The tool's exit code (salt, ansible; the runner runs no tool on a machine), for the exit-code rule.
    print(
        "\n".join(f"{r.method:8} {r.phase:6} {r.duration_s:5.1f} s  exit {r.exit_code}  {explain(r)}" for r in results)
    )
    # orka's verdict: the stopped node fails in every phase of every method, nothing else does (the nodes were
    # converged by an earlier test: an apply need not change them).
    for result in results:
        method = next(m for m in methods if m.name == result.method)
        expect = Expectations(tuple(node_names(cluster)), method.tool, method.host_failure_codes, fresh_required=False)
        verdict = judge(result, expect)
        failed = [n for n, v in verdict.nodes.items() if not v.ok]
        if failed != [STOPPED_NODE] or not verdict.whole.ok:
            problems.append(f"{explain(result)}: verdict {verdict.reasons()}")
    assert not problems, "\n".join(problems)


def test_salt_master_down_fails_fast_saying_the_master_is_unreachable(cluster: Cluster) -> None:
    """salt-master stopped, then the whole orka-master: Salt's phases fail at once, saying so."""
    whole(cluster, ["orka-master"])  # the nodes do not matter: the master is checked before salt runs
    salt = load_method("salt")(cluster, FAULT_TIMEOUT_S, EXAMPLE)
    cluster.run("orka-master", "sudo systemctl stop salt-master")
    service_down = salt.ping()
    assert service_down.error == "Salt master orka-master is unreachable: salt-master is not running there"
    faults.stop_machine(cluster, "orka-master")
    results = [service_down, salt.ping(), salt.apply()]
    for result in results[1:]:
        assert result.error.startswith("Salt master orka-master is unreachable: "), explain(result)
        assert not result.ok
    print("\n".join(explain(r) for r in results))
    fast = FAULT_TIMEOUT_S / 2
    assert all(r.duration_s < fast for r in results), f"each must fail within {fast} s: " + "; ".join(
        explain(r) for r in results
    )


def test_ansible_control_node_down_fails_fast_saying_so(cluster: Cluster) -> None:
    """ansible-master stopped: Ansible's phase fails at once, saying the control node is unreachable."""
    whole(cluster, ["ansible-master"])
    ansible = load_method("ansible")(cluster, FAULT_TIMEOUT_S, EXAMPLE)
    faults.stop_machine(cluster, "ansible-master")
    result = ansible.ping()
    print(explain(result))
    assert result.error.startswith("Ansible control node ansible-master is unreachable: "), explain(result)
    assert result.duration_s < FAULT_TIMEOUT_S / 2, explain(result)

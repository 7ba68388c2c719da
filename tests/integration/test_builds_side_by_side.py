"""Two Bamboo builds on one agent host: `make spike` twice at once, each named after its build as the plan
names it (ORKA_CLUSTER=${bamboo.buildResultKey}), both pass, and each build's final clean-up (the plan's own
command, read from bamboo-specs/bamboo.yml) leaves the other's cluster untouched.

The two build keys are chosen so that their names hash to the same /24 slot: the test passes only when the
subnet is claimed from Docker's networks under the host lock, not taken from the name. The method is the
custom runner alone (no master: the quickest real cluster); the second build keeps its cluster
(--keep-cluster, as a build stopped mid-run leaves it) so that the first's clean-up has a cluster to spare.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from orka.config import REPO_ROOT
from orka.plan.layout import LABEL, cluster_slot
from orka.plan.state import STATE_ROOT
from orka.report.junit import validate_junit
from tests.integration.clusters import docker_lines, user_environment

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("builds")]

FIRST, SECOND = "ORKA-SPIKE-SPIKES-8", "ORKA-SPIKE-SPIKES-46"  # Bamboo's buildResultKey of two builds
CLUSTERS = {FIRST: "orka-spike-spikes-8", SECOND: "orka-spike-spikes-46"}  # as orka makes them names
PLAN = REPO_ROOT / "bamboo-specs" / "bamboo.yml"
RUN_S = 900


def containers_of(cluster: str, running: bool = False) -> set[str]:
    status = ["--filter", "status=running"] if running else []
    return set(docker_lines("ps", "-a", *status, "--filter", f"label={LABEL}={cluster}", "--format", "{{.Names}}"))


def subnets_now() -> dict[str, set[str]]:
    """The subnets of each cluster's labelled networks, as Docker has them now."""
    ids = docker_lines("network", "ls", "-q", "--filter", f"label={LABEL}")
    if not ids:
        return {}
    raw = subprocess.run(["docker", "network", "inspect", *ids], capture_output=True, text=True, check=False).stdout
    seen: dict[str, set[str]] = {}
    for network in json.loads(raw or "[]"):
        cluster = (network.get("Labels") or {}).get(LABEL, "")
        for config in (network.get("IPAM") or {}).get("Config") or []:
            seen.setdefault(cluster, set()).add(config.get("Subnet", ""))
    return seen


def final_cleanup() -> tuple[str, list[str]]:
    """The plan's final task that removes the build's cluster: its environment line and its scripts."""
    plan = yaml.safe_load(PLAN.read_text())
    job = next(value for key, value in plan.items() if isinstance(value, dict) and "final-tasks" in value)
    for task in job["final-tasks"]:
        script = task.get("script") if isinstance(task, dict) else None
        if script and "down" in " ".join(script["scripts"]):
            return script["environment"], script["scripts"]
    raise AssertionError(f"{PLAN}: no final task removes the build's cluster")


def build_env(build: str, reports: Path) -> dict[str, str]:
    """A build's own environment: none of this run's, nor of the make that runs it."""
    return user_environment(ORKA_CLUSTER=build, ORKA_REPORTS=str(reports))


def run_cleanup(build: str, reports: Path) -> subprocess.CompletedProcess[str]:
    environment, scripts = final_cleanup()
    key, _, value = environment.partition("=")
    env = build_env(build, reports)
    env[key] = value.replace("${bamboo.buildResultKey}", build)
    return subprocess.run(
        ["bash", "-ec", "\n".join(scripts)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def start_build(build: str, pytest_args: str, reports: Path) -> subprocess.Popen[str]:
    """`make spike` as the plan's task runs it, in the build's environment."""
    return subprocess.Popen(
        ["make", "spike", f"PYTEST_ARGS={pytest_args}"],
        cwd=REPO_ROOT,
        env=build_env(build, reports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class Watch:
    """Looks at Docker every second while the builds run: which subnets each cluster's network had."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}
        self.together = False  # both clusters had a network at the same moment
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            now = subnets_now()
            for cluster, subnets in now.items():
                self.seen.setdefault(cluster, set()).update(subnets)
            if all(CLUSTERS[b] in now for b in CLUSTERS):
                self.together = True


@pytest.fixture
def watch() -> Iterator[Watch]:
    watcher = Watch()
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        watcher.stop.set()
        thread.join(timeout=30)
        for cluster in CLUSTERS.values():  # whatever happened, no cluster of this test stays
            subprocess.run(
                [str(REPO_ROOT / ".venv" / "bin" / "orka"), "down", "--name", cluster],
                cwd=REPO_ROOT, capture_output=True, timeout=300, check=False,
            )  # fmt: skip


def test_two_builds_at_once_pass_and_each_cleans_up_its_own(tmp_path: Path, watch: Watch) -> None:
    assert cluster_slot(CLUSTERS[FIRST]) == cluster_slot(CLUSTERS[SECOND])  # the same /24, were it by the name
    reports = {build: tmp_path / build for build in CLUSTERS}
    args = {FIRST: "-m custom -p no:cacheprovider", SECOND: "-m custom -p no:cacheprovider --keep-cluster"}
    began = time.monotonic()
    builds = {build: start_build(build, args[build], reports[build]) for build in CLUSTERS}
    outputs = {build: process.communicate(timeout=RUN_S)[0] for build, process in builds.items()}
    took = time.monotonic() - began
    for build, process in builds.items():
        assert process.returncode == 0, f"{build}:\n{outputs[build][-6000:]}"
        summary = re.search(r"^=+ (?P<counts>.*) in [\d.]+s.*=+$", outputs[build], re.M)
        assert summary is not None, outputs[build][-2000:]
        assert "passed" in summary["counts"], summary[0]
        assert "failed" not in summary["counts"], summary[0]
        assert "error" not in summary["counts"], summary[0]
        assert validate_junit(reports[build] / "junit.xml") == []
    print(f"two builds side by side: {took:.0f} s")

    assert watch.together, f"the two builds never had their clusters at once: {watch.seen}"
    first, second = (watch.seen.get(CLUSTERS[b], set()) for b in (FIRST, SECOND))
    assert len(first) == 1, watch.seen
    assert len(second) == 1, watch.seen
    assert not ipaddress.ip_network(first.pop()).overlaps(ipaddress.ip_network(second.pop())), watch.seen

    # The second build's cluster is still up; the first build's final clean-up leaves it so.
    kept = containers_of(CLUSTERS[SECOND], running=True)
    assert len(kept) == 3, kept
    cleanup = run_cleanup(FIRST, reports[FIRST])
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert containers_of(CLUSTERS[SECOND], running=True) == kept
    assert CLUSTERS[SECOND] in subnets_now()
    assert not containers_of(CLUSTERS[FIRST])

    cleanup = run_cleanup(SECOND, reports[SECOND])
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert f"cluster {CLUSTERS[SECOND]}: removed" in cleanup.stdout
    assert not containers_of(CLUSTERS[SECOND])
    assert CLUSTERS[SECOND] not in subnets_now()
    assert not (STATE_ROOT / "clusters" / CLUSTERS[SECOND]).exists()

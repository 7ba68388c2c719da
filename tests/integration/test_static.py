"""provider: static on a fleet that orka did not make.

The test itself starts the fleet, as a team's staging hosts would be: plain
`docker run` containers (systemd and sshd, orka's node image with the tools),
on a network of their own, with a login key the test made and nothing of the
repository or the wheelhouse mounted, so orka must copy what the methods need.
Then `pytest spikes/` runs every method on it through orka, and orka must
neither create nor remove any container or network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orka.config import REPO_ROOT
from orka.config.settings import default_settings, load_settings
from orka.errors import ClusterError
from orka.plan.state import CACHE_ROOT, INSTALL_TOOLS, STATE_ROOT, WHEELHOUSE_PINS
from orka.plan.wheelhouse import ensure_wheelhouse
from orka.progress import to_stderr
from orka.providers.docker import ensure_image, ensure_tools_image
from orka.providers.lifecycle import started

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("static")]

NETWORK = "orka-fleet-test"
SUBNET = "10.88.0.0/24"  # not 10.87.x, where orka's own clusters live
LABEL = "orka.fleet-test=1"  # not orka.cluster: these are not orka's machines
CLUSTER = "orka-static"
# (container suffix, the host's own hostname, address, role): hostnames unlike orka's names, as on a real fleet.
HOSTS = (
    ("salt", "staging-salt", "10.88.0.10", "salt-master"),
    ("ansible", "staging-ctl", "10.88.0.11", "ansible-master"),
    ("node-1", "staging-web-a", "10.88.0.21", "node"),
    ("node-2", "staging-web-b", "10.88.0.22", "node"),
    ("node-3", "staging-web-c", "10.88.0.23", "node"),
)
# The Vagrantfile's docker provider flags for systemd as PID 1.
SYSTEMD_FLAGS = (
    "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
    "--stop-signal", "SIGRTMIN+3", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
)  # fmt: skip
# What of the working tree a spike run needs (the copy keeps its reports and state away from others' runs).
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".orka", "reports", "__pycache__", ".*_cache", "*.pyc")


@dataclass(frozen=True)
class FleetUnderTest:
    key: Path
    known_hosts: Path
    started_at: str  # docker's clock, for `docker events --since`


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=300)


def node_tools_image() -> str:
    """orka-node-tools:<tag>, found (or built once) the way orka's docker provider finds it."""
    settings = default_settings()
    wheelhouse = ensure_wheelhouse(WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", to_stderr, settings.platform)
    base = ensure_image(settings.image_recipe, settings.platform.suite, CACHE_ROOT, to_stderr)
    return ensure_tools_image(base, wheelhouse, INSTALL_TOOLS, CACHE_ROOT, to_stderr)


def remove_fleet() -> None:
    containers = docker("ps", "-aq", "--filter", f"label={LABEL}").stdout.split()
    if containers:
        docker("rm", "-f", "-v", *containers, check=False)
    docker("network", "rm", NETWORK, check=False)


def run_host(image: str, public_key: Path, suffix: str, hostname: str, address: str) -> None:
    docker(
        "run", "-d", "--name", f"{NETWORK}-{suffix}", "--hostname", hostname, "--label", LABEL,
        "--network", NETWORK, "--ip", address, *SYSTEMD_FLAGS,
        "-v", f"{public_key}:/etc/ssh/authorized_keys/vagrant:ro", image,
    )  # fmt: skip
    # A fleet is up before anyone points orka at it: wait for its boot to end
    # (systemd says offline, or nothing, until it has set up, a moment after the start).
    deadline = time.monotonic() + 120
    while True:
        booted = docker("exec", f"{NETWORK}-{suffix}", "systemctl", "is-system-running", "--wait", check=False)
        if booted.stdout.strip() not in ("", "offline", "initializing") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert booted.stdout.strip() == "running", f"{suffix}: {booted.stdout}{booted.stderr}"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetUnderTest]:
    folder = tmp_path_factory.mktemp("fleet")
    key = folder / "fleet_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-test", "-f", str(key)], check=True)
    key.with_suffix(".pub").chmod(0o644)
    image = node_tools_image()
    remove_fleet()  # what a killed earlier run left
    try:
        docker("network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK)
        with ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
            runs = [pool.submit(run_host, image, key.with_suffix(".pub"), s, h, a) for s, h, a, _ in HOSTS]
            for run in runs:
                run.result()
        started_at = docker("info", "--format", "{{.SystemTime}}").stdout.strip()
        yield FleetUnderTest(key, folder / "known_hosts", started_at)
    finally:
        remove_fleet()


def fleet_settings(fleet: FleetUnderTest, path: Path, methods: list[str], hosts: list[dict[str, object]]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "provider": "static",
                "methods": methods,
                "static": {
                    "user": "vagrant",
                    "key": str(fleet.key),
                    "known_hosts": str(fleet.known_hosts),
                    "hosts": hosts,
                },
            }
        )
    )
    return path


def listed_hosts() -> list[dict[str, object]]:
    return [{"address": address, "role": role} for _, _, address, role in HOSTS]


def orka_events(since: str) -> list[str]:
    """Containers or networks of orka's static cluster created or removed since then (there must be none),
    and any stop or removal of the fleet's own containers."""
    until = docker("info", "--format", "{{.SystemTime}}").stdout.strip()
    found = []
    for labelled in (f"orka.cluster={CLUSTER}", LABEL):
        events = docker(
            "events", "--since", since, "--until", until, "--filter", f"label={labelled}",
            "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ).stdout.splitlines()  # fmt: skip
        found += [
            e for e in events if labelled != LABEL or e.split()[1] in ("create", "destroy", "die", "stop", "kill")
        ]
    networks = docker(
        "events", "--since", since, "--until", until, "--filter", "type=network",
        "--format", "{{.Action}} {{.Actor.Attributes.name}}",
    ).stdout.splitlines()  # fmt: skip
    return found + [e for e in networks if CLUSTER in e or (NETWORK in e and "create" in e)]


def failed_phases(results: Path) -> str:
    """The tool's own output of each failed phase, which the spike run's summary leaves out."""
    if not results.exists():
        return ""
    failed = [r for r in json.loads(results.read_text()) if r["node"] is None and not r["ok"]]
    return "".join(f"\n--- {r['method']} {r['phase']}: {r.get('error')}\n{str(r.get('raw'))[-1500:]}" for r in failed)


def test_unreachable_hosts_are_named_each_with_the_fix(fleet: FleetUnderTest, tmp_path: Path) -> None:
    """Every host that cannot be used is named, by orka's name and address, with why and the fix; nothing is left."""
    stranger = tmp_path / "stranger_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    hosts = listed_hosts()[2:]  # the nodes only: the custom method needs no master
    hosts[1]["key"] = str(stranger)  # a key the host does not take
    hosts[2]["address"] = "10.88.0.99"  # nothing there
    settings = load_settings(fleet_settings(fleet, tmp_path / "settings.yaml", ["custom"], hosts))
    with pytest.raises(ClusterError) as info, started(settings, name=CLUSTER, emit=to_stderr):
        pytest.fail("a fleet with unreachable hosts came up")
    message = str(info.value)
    to_stderr(f"[test] {message}")
    assert "orka-node-1" not in message, message
    assert "orka-node-2 (10.88.0.22): unreachable over SSH: " in message, message
    assert "Permission denied" in message, message
    assert "orka-node-3 (10.88.0.99): unreachable over SSH: " in message, message
    assert message.count("; fix: ") == 2, message
    assert not (STATE_ROOT / "clusters" / CLUSTER).exists(), "a failed bring-up left orka's state behind"


def test_every_method_runs_on_the_fleet_and_orka_makes_no_machine(fleet: FleetUnderTest, tmp_path: Path) -> None:
    """`pytest spikes/` with provider static: salt, ansible and custom, every phase (drift aside) and check, on
    every node."""
    checkout = tmp_path / "orka"
    shutil.copytree(REPO_ROOT, checkout, ignore=COPY_IGNORE, symlinks=True)
    settings = fleet_settings(fleet, tmp_path / "static.yaml", ["salt", "ansible", "custom"], listed_hosts())
    docker("exec", f"{NETWORK}-node-3", "groupadd", "--system", "orka")  # the team's own, before orka came
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "pytest", "spikes/", "--settings", str(settings), "--cluster-name", CLUSTER]
    # The drift phase is the same on any provider: make spike and test_scenarios run it; here it is left out.
    command += ["-p", "no:cacheprovider", "--junitxml", str(junit), "-q", "-x", "-m", "not drift"]
    start = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "ORKA_REPORTS"}  # the reports go to the copy's reports/
    run = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=1800, check=False)
    took = time.monotonic() - start
    for line in (run.stdout + run.stderr).splitlines():  # orka's progress, for whoever reads this test's output
        if line.startswith("[orka]"):
            to_stderr(line)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:] + failed_phases(checkout / "reports" / "results.json")
    to_stderr(f"[test] pytest spikes/ on the static fleet: {run.stdout.strip().splitlines()[-1]} in {took:.0f} s")

    cases = ET.parse(junit).getroot().iter("testcase")
    outcomes = {f"{c.get('classname')}::{c.get('name')}": [e.tag for e in c] for c in cases}
    bad = {name: tags for name, tags in outcomes.items() if {"failure", "error", "skipped"} & set(tags)}
    assert not bad, bad
    for method in ("salt", "ansible", "custom"):
        for node in ("orka-node-1", "orka-node-2", "orka-node-3"):
            for test in (f"test_apply[{method}-{node}]", f"test_idempotence[{method}-{node}]"):
                assert any(name.endswith(test) for name in outcomes), f"{test} did not run"
            verified = [n for n in outcomes if "test_desired_state" in n and n.endswith(f"[{method}-{node}]")]
            assert len(verified) >= 5, f"{method} on {node}: desired state checks {verified}"

    records = json.loads((checkout / "reports" / "results.json").read_text())
    assert {r["provider"] for r in records} == {"static"}
    applied = {(r["method"], r["node"]) for r in records if r["phase"] == "apply" and r["node"] and r["ok"]}
    assert len(applied) == 9, applied
    # Each method found every node as the team handed it over: orka took each node back from the previous
    # method's desired state, but left the group node-3 held before orka came, which is no leftover.
    up = {(r["method"], r["node"]): (r["detail"], r["verdict"]) for r in records if r["phase"] == "up" and r["node"]}
    assert set(up) == applied, up
    assert {k: v for k, v in up.items() if v != ("fresh", "pass")} == {
        (m, "orka-node-3"): ("fresh (the host's own from before orka: group orka)", "pass")
        for m in ("salt", "ansible", "custom")
    }

    # orka made, stopped and removed no machine or network: the fleet is as the test left it.
    assert orka_events(fleet.started_at) == []
    running = docker("ps", "-q", "--filter", f"label={LABEL}", "--filter", "status=running").stdout.split()
    assert len(running) == len(HOSTS)
    assert docker("ps", "-aq", "--filter", f"label=orka.cluster={CLUSTER}").stdout.split() == []
    # Host keys were checked, each recorded on first contact (accept-new), and orka's own state is gone.
    recorded = {line.split()[0] for line in fleet.known_hosts.read_text().splitlines() if line.strip()}
    assert recorded == {address for _, _, address, _ in HOSTS}
    assert not (checkout / ".orka" / "clusters" / CLUSTER).exists()
    # The fleet stays provisioned (the Salt master runs on), but no copy of its login key is left on it.
    master = docker("exec", f"{NETWORK}-salt", "systemctl", "is-active", "salt-master", check=False)
    assert master.stdout.strip() == "active"
    control_keys = docker("exec", f"{NETWORK}-ansible", "ls", "/root/.ssh", check=False).stdout.split()
    assert not {"orka_fleet", "orka_cluster"} & set(control_keys), control_keys


def test_orka_down_on_a_fleet_takes_the_fleets_keys_back_from_its_control_node(
    fleet: FleetUnderTest, tmp_path: Path
) -> None:
    """`orka up` keeps a fleet provisioned for hand commands, the control node holding copies of the fleet's
    login key; `orka down` (a run of its own, from the plan alone) removes them there, and orka's state."""
    settings = fleet_settings(fleet, tmp_path / "static.yaml", ["ansible"], listed_hosts())
    name = "orka-static-down"
    orka = [sys.executable, "-m", "orka"]
    up = subprocess.run(
        [*orka, "up", "--settings", str(settings), "--name", name],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        held = docker("exec", f"{NETWORK}-ansible", "ls", "/root/.ssh", check=False).stdout.split()
        assert {"orka_fleet", "orka_cluster"} <= set(held), held
    finally:
        down = subprocess.run(
            [*orka, "down", "--settings", str(settings), "--name", name],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert down.returncode == 0, down.stderr[-3000:]
    assert f"cluster {name}: removed the folder .orka/clusters/{name}" in down.stdout, down.stdout
    left = docker("exec", f"{NETWORK}-ansible", "ls", "/root/.ssh", "/etc/ansible", check=False).stdout.split()
    assert not {"orka_fleet", "orka_cluster", "host_vars"} & set(left), left
    assert not (STATE_ROOT / "clusters" / name).exists()

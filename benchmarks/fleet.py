"""A fleet of lightweight hosts for bench_methods.py --fleet N: sshd and python3 in orka's node image, no systemd.

Each host is `docker run` of the node image with sshd as its only process, root
logging in with a key made for the fleet, on a network of the fleet's own. The
network's /24 is claimed as a cluster's is (orka.providers.networks, under the
host lock), and every container is labelled as that cluster's, so `orka down
--all` removes what a killed benchmark left. A /24 holds at most 250 hosts.

The tools reach the fleet as a team's own hosts: `provider: static` settings
listing them, checked as orka checks any, and orka's plan, ssh_config and
inventory of that fleet (static_cluster); nothing is provisioned on them.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from orka.config.settings import load_settings
from orka.plan import keys
from orka.plan.layout import LABEL
from orka.plan.state import CACHE_ROOT, write_spec
from orka.progress import Emit
from orka.providers.docker import ensure_image, remove_docker_leftovers
from orka.providers.networks import claim_subnet, vagrant_network_name
from orka.providers.static import StaticCluster, StaticProvider

FLEET = "orka-fleet-bench"
MOST = 250
STARTERS = 8  # `docker run`s at once: the daemon takes them one at a time anyway
SSHD = (
    "mkdir -p /root/.ssh /run/sshd && printf '%s\\n' \"$FLEET_KEY\" > /root/.ssh/authorized_keys "
    "&& chmod 700 /root/.ssh && chmod 600 /root/.ssh/authorized_keys && ssh-keygen -A -q "
    "&& exec /usr/sbin/sshd -D -e -o PermitRootLogin=prohibit-password -o MaxStartups=100:30:200"
)


@dataclass(frozen=True)
class LightHost:
    name: str
    address: str


@dataclass(frozen=True)
class LightFleet:
    hosts: tuple[LightHost, ...]
    key: Path  # the private key root on every host takes
    started_s: float  # from the first `docker run` to every sshd answering


def _docker(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"bench: `docker {' '.join(args[:2])}` failed: {done.stderr.strip()}")
    return done.stdout


def _answers(address: str, key: Path) -> bool:
    probe = ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"]
    probe += ["-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]
    return subprocess.run([*probe, f"root@{address}", "true"], capture_output=True, check=False).returncode == 0


@contextmanager
def fleet(size: int, work: Path, emit: Emit) -> Iterator[LightFleet]:
    """Start `size` hosts, yield them once every sshd answers, remove them (and their network) after."""
    if not 1 <= size <= MOST:
        raise SystemExit(f"bench: --fleet takes 1 to {MOST} hosts (one /24), not {size}")
    settings = load_settings(None, {"provider": "docker"})
    image = ensure_image(settings.image_recipe, settings.platform.suite, CACHE_ROOT, emit)
    key, public = keys.ensure_ssh_keypair(work / "fleet-key", comment=FLEET)
    remove_docker_leftovers(FLEET)  # a killed benchmark's
    try:
        subnet = claim_subnet(settings.subnet, FLEET)
        network = vagrant_network_name(subnet)
        names = [f"{FLEET}-{index:03d}" for index in range(1, size + 1)]
        emit(f"[bench] fleet: starting {size} hosts (sshd in {image}) on {subnet}")
        start = time.monotonic()

        def run(name: str) -> None:
            _docker(
                "run", "-d", "--name", name, "--hostname", name, "--label", f"{LABEL}={FLEET}",
                "--network", network, "-e", f"FLEET_KEY={public.read_text().strip()}",
                "--entrypoint", "/bin/bash", image, "-c", SSHD,
            )  # fmt: skip

        with ThreadPoolExecutor(max_workers=STARTERS) as pool:
            list(pool.map(run, names))
        inspected = json.loads(_docker("inspect", *names))
        addresses = {c["Name"].lstrip("/"): c["NetworkSettings"]["Networks"][network]["IPAddress"] for c in inspected}
        hosts = tuple(LightHost(name, addresses[name]) for name in names)
        assert all(ipaddress.ip_address(h.address) in subnet for h in hosts)
        waiting = list(hosts)
        deadline = time.monotonic() + 120 + size
        while waiting:
            with ThreadPoolExecutor(max_workers=16) as pool:
                answered = list(pool.map(lambda h: _answers(h.address, key), waiting))
            waiting = [h for h, ok in zip(waiting, answered, strict=True) if not ok]
            if waiting and time.monotonic() > deadline:
                raise SystemExit(f"bench: {len(waiting)} fleet host(s) never answered SSH, e.g. {waiting[0].name}")
        started = time.monotonic() - start
        emit(f"[bench] fleet: {size} hosts answering SSH in {started:.1f} s")
        yield LightFleet(hosts, key, started)
    finally:
        removed = remove_docker_leftovers(FLEET)
        emit(f"[bench] fleet: removed {removed} container(s) and network(s)")


@contextmanager
def static_cluster(hosts: LightFleet, work: Path, emit: Emit) -> Iterator[StaticCluster]:
    """The fleet as `provider: static` settings name it, with orka's ssh_config written; its state removed after."""
    settings_file = work / "fleet-settings.yaml"
    fleet_settings = {
        "provider": "static",
        "cluster": len(hosts.hosts),
        "methods": ["custom"],
        "static": {
            "user": "root",
            "key": str(hosts.key),
            "known_hosts": "none",  # new hosts at addresses seen before
            "hosts": [{"address": h.address, "role": "node"} for h in hosts.hosts],
        },
    }
    settings_file.write_text(yaml.safe_dump(fleet_settings, sort_keys=False))
    settings = load_settings(settings_file, {})
    provider = StaticProvider()
    spec = provider.prepare(settings, FLEET, emit)
    cluster = provider.cluster(spec, settings.timeouts, emit)
    try:
        write_spec(spec, cluster.paths)
        cluster.write_ssh_config()
        yield cluster
    finally:
        cluster.destroy()

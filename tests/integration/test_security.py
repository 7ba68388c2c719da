"""Security of the cluster orka builds, on real machines: keys, Salt's key acceptance, SSH, leaks.

One cluster, orka-sec (Salt master, Ansible control node, three nodes), is up
for the whole module. A second name, orka-rogue, is only prepared (its keys
made, nothing started) to show that two clusters never share a key. The rogue
Salt minions are containers of the cluster's own node image on the cluster's
own network, labelled as the cluster's, so its teardown removes them too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from orka.config.settings import Settings, default_settings
from orka.errors import OrkaError
from orka.methods.base import load_method
from orka.plan.layout import LABEL
from orka.plan.spec import ClusterSpec
from orka.plan.state import ClusterPaths
from orka.progress import to_stderr
from orka.providers.base import Cluster
from orka.providers.lifecycle import discard, prepare, started
from orka.report.page import render_comparison
from orka.results.record import RunContext
from orka.results.store import read_records
from orka.spike import Spike
from orka.testing.leaks import load_known_key, private_key_files, scan_paths

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("security")]

NAME = "orka-sec"
OTHER = "orka-rogue"
METHODS = ("salt", "ansible", "custom")
SALT_MASTER = "orka-master"
ANSIBLE_MASTER = "ansible-master"
ROGUE_ID = "rogue-minion"
PKI = "/etc/salt/pki/master"
EXAMPLE = default_settings().scenarios[0]  # the desired state the methods apply
METHOD_TIMEOUT_S = 60  # each method's readiness wait and commands; the cluster is up and idle by then
TOOLS = "/usr/local/lib/orka-tools/bin"
# Where each machine keeps the private key orka gave it (the host's upload/<machine>/ copy).
OWN_KEY = {"salt-master": "/etc/salt/pki/master/master.pem", "ansible-master": "/root/.ssh/orka_cluster"}
MINION_KEY = "/etc/salt/pki/minion/minion.pem"
HOST_KEY = re.compile(r"^/etc/ssh/ssh_host_\w+_key$")  # each machine's own sshd host keys, made at its first boot
# Where a machine keeps what it was given: searched whole (the wheelhouse's wheels aside).
SEARCHED = "/etc /root /home /tmp /var /srv /opt /run"
# Vagrant's well-known private key, as Debian's package and HashiCorp's ship it.
INSECURE_KEYS = (
    "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant*",
    "/opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant*",
    "/opt/vagrant/embedded/gems/*/gems/vagrant-*/keys/vagrant*",
)


class Console:
    """Progress lines to the terminal, and kept: what a CI console shows is checked for keys too."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        to_stderr(line)


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def settings(orka_settings: Settings) -> Settings:
    # docker whatever the settings say: the rogue minions are containers on the cluster's docker network.
    return dataclasses.replace(orka_settings, methods=METHODS, provider="docker")


@pytest.fixture(scope="module")
def sec_cluster(pytestconfig: pytest.Config, settings: Settings, console: Console) -> Iterator[Cluster]:
    keep, reuse = pytestconfig.getoption("keep_cluster"), pytestconfig.getoption("reuse_cluster")
    try:
        with started(settings, name=NAME, keep=keep, reuse=reuse, emit=console) as cluster:
            yield cluster
    except OrkaError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def other_spec(settings: Settings, console: Console) -> Iterator[ClusterSpec]:
    """A second cluster's plan and keys, made as for a bring-up, with nothing started."""
    try:
        yield prepare(settings, OTHER, console)
    except OrkaError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        discard(settings, OTHER, console)  # its state folder, and the network its plan claimed


def state_dir(cluster: Cluster | ClusterSpec) -> Path:
    return ClusterPaths.for_name(cluster.name).state_dir


def ip_of(cluster: Cluster, machine: str) -> str:
    return next(m.ip for m in cluster.machines if m.name == machine)


def as_root(cluster: Cluster, machine: str, command: str) -> subprocess.CompletedProcess[str]:
    result = cluster.run(machine, f"sudo bash -c {shlex.quote(command)}")
    return subprocess.CompletedProcess(command, result.rc, result.stdout, result.stderr)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- keys on the host ----------------------------------------------------------------------------


def test_every_private_key_orka_wrote_is_0600_in_0700_folders(sec_cluster: Cluster) -> None:
    state = state_dir(sec_cluster)
    nodes = [n.name for n in sec_cluster.nodes]
    expected = {
        state / "id_ed25519",
        state / "salt-keys" / "master.pem",
        *(state / "salt-keys" / f"{n}.pem" for n in nodes),
        state / "upload" / SALT_MASTER / "salt" / "master.pem",
        *(state / "upload" / n / "salt" / "minion.pem" for n in nodes),
        state / "upload" / ANSIBLE_MASTER / "ssh" / "id_ed25519",
    }
    found = set(private_key_files(state))
    assert found == expected, f"unexpected: {sorted(found - expected)}, missing: {sorted(expected - found)}"
    problems = []
    for key in sorted(found):
        mode = stat.S_IMODE(key.stat().st_mode)
        if mode != 0o600:
            problems.append(f"{key.relative_to(state)}: mode {mode:o}, not 600")
        folder = key.parent
        while folder.is_relative_to(state):
            folder_mode = stat.S_IMODE(folder.stat().st_mode)
            if folder_mode != 0o700:
                problems.append(f"{folder}: mode {folder_mode:o}, not 700")
            folder = folder.parent
    assert not problems, "\n".join(sorted(set(problems)))


def test_each_cluster_and_machine_has_keys_of_its_own(sec_cluster: Cluster, other_spec: ClusterSpec) -> None:
    """No private key is shared: not between two clusters, not between the machines of one."""
    mine = [load_known_key(p) for p in private_key_files(state_dir(sec_cluster) / "salt-keys")]
    mine.append(load_known_key(Path(sec_cluster.spec.ssh_private_key)))
    theirs = [load_known_key(p) for p in private_key_files(state_dir(other_spec) / "salt-keys")]
    theirs.append(load_known_key(Path(other_spec.ssh_private_key)))
    assert len(mine) == len(theirs) == 1 + 1 + len(sec_cluster.nodes)  # ssh, salt master, one per minion
    secrets = [key.secrets for key in mine + theirs]
    assert len(set(secrets)) == len(secrets), "two keys share their secret"
    assert Path(sec_cluster.spec.ssh_public_key).read_text() != Path(other_spec.ssh_public_key).read_text()


# --- keys on the machines ------------------------------------------------------------------------


def _machine_key_problems(cluster: Cluster, machine: str, role: str) -> list[str]:
    own_copies = ClusterPaths.for_name(cluster.name).upload_dir / machine
    own = {sha256(p.read_bytes()) for p in private_key_files(own_copies)} if own_copies.exists() else set()
    wanted = OWN_KEY.get(role, MINION_KEY)
    listing = as_root(
        cluster,
        machine,
        f"grep -rlsI -E --exclude-dir=wheelhouse -e '-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY' {SEARCHED} "
        '| while read -r f; do echo "key $(stat -c \'%a %U\' "$f") $(sha256sum < "$f" | cut -c1-64) $f"; done; '
        # The key the machine's service uses (Salt 3008 moves master.pem aside and links it).
        f'echo "uses $(sha256sum < "$(readlink -f {wanted})" | cut -c1-64)"; '
        "test ! -e /tmp/orka-upload || echo 'left /tmp/orka-upload'",
    )
    problems = []
    for line in listing.stdout.splitlines():
        what, _, rest = line.partition(" ")
        if what == "left":
            problems.append(f"{machine}: provisioning left its keys in /tmp/orka-upload")
        elif what == "uses" and rest not in own:
            problems.append(f"{machine}: {wanted} is not the key orka made for it")
        elif what == "key":
            mode, owner, digest, path = rest.split(" ", 3)
            if not (digest in own or HOST_KEY.match(path)):
                problems.append(f"{machine}: {path} is not a key orka gave this machine")
            if owner != "root" or int(mode, 8) & 0o077:
                problems.append(f"{machine}: {path} is {mode} {owner}, not root's alone")
    return problems


def test_each_machine_holds_only_its_own_private_keys_root_only(sec_cluster: Cluster) -> None:
    """A node has its minion key, the Salt master its master key, the control node the cluster's SSH key;
    none has another machine's or another cluster's key, and each is readable by root alone."""
    with ThreadPoolExecutor(max_workers=len(sec_cluster.machines)) as pool:
        found = pool.map(lambda m: _machine_key_problems(sec_cluster, m.name, m.role), sec_cluster.machines)
        problems = [p for machine_problems in found for p in machine_problems]
    assert not problems, "\n".join(problems)


# --- Salt: only the minions orka seeded ----------------------------------------------------------


def salt_keys(cluster: Cluster) -> dict[str, list[str]]:
    listing = as_root(cluster, SALT_MASTER, "salt-key -L --out=json")
    assert listing.returncode == 0, listing.stderr
    keys: dict[str, list[str]] = json.loads(listing.stdout)
    return keys


# What salt-master itself reads: its effective configuration, and whether anything would sign a key in.
MASTER_FACTS = """
import json, os, salt.config
o = salt.config.master_config("/etc/salt/master")
autosign = [p for p in (o.get("autosign_file"), o.get("autosign_grains_dir")) if p and os.path.exists(p)]
pending = os.listdir(os.path.join(o["pki_dir"], "minions_autosign"))
print(json.dumps({"auto_accept": o["auto_accept"], "open_mode": o["open_mode"], "autosign": autosign + pending}))
"""


def test_salt_master_accepts_no_key_by_itself(sec_cluster: Cluster) -> None:
    """auto_accept and open_mode off, no autosign file or pending id: only the keys orka seeded are in."""
    facts = as_root(sec_cluster, SALT_MASTER, f"{TOOLS}/python -c {shlex.quote(MASTER_FACTS)}")
    assert facts.returncode == 0, facts.stderr
    found = json.loads(facts.stdout.strip().splitlines()[-1])
    assert found == {"auto_accept": False, "open_mode": False, "autosign": []}
    keys = salt_keys(sec_cluster)
    assert sorted(keys["minions"]) == sorted(n.name for n in sec_cluster.nodes)
    assert keys["minions_pre"] == keys["minions_rejected"] == keys["minions_denied"] == []


def _start_rogue(cluster: Cluster, container: str, minion_id: str) -> None:
    """A fresh minion on the cluster's network, with a key it makes itself (as salt-minion does)."""
    network = subprocess.run(
        ["docker", "network", "ls", "-q", "--filter", f"label={LABEL}={cluster.name}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(network) == 1, f"cluster {cluster.name} should have one docker network, has {network}"
    config = (
        f"id: {minion_id}\nmaster: {SALT_MASTER}\n"
        "acceptance_wait_time: 1\nacceptance_wait_time_max: 2\nrandom_reauth_delay: 0\n"
    )
    script = (
        f"mkdir -p /etc/salt/minion.d && printf %s {shlex.quote(config)} > /etc/salt/minion.d/rogue.conf "
        f"&& exec {TOOLS}/salt-minion --log-level=info"
    )
    subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
    subprocess.run(
        [
            "docker", "run", "-d", "--name", container,
            "--label", f"{LABEL}={cluster.name}", "--label", f"orka.machine={container}",
            "--network", network[0], "--add-host", f"{SALT_MASTER}:{ip_of(cluster, SALT_MASTER)}",
            "--entrypoint", "/bin/bash", cluster.spec.machine(SALT_MASTER).image, "-c", script,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip


def docker_logs(container: str) -> str:
    logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=False)
    return logs.stdout + logs.stderr


def primary_of(cluster: Cluster) -> str:
    return next(n.name for n in cluster.nodes if n.primary)


@pytest.fixture(scope="module")
def rogues(sec_cluster: Cluster) -> Iterator[dict[str, str]]:
    """Two rogue minions, started at once: a new id, and an impostor claiming the primary node's id.

    Yields minion id -> container, once the master has seen both keys.
    """
    primary = primary_of(sec_cluster)
    containers = {ROGUE_ID: f"{NAME}-rogue-new-id", primary: f"{NAME}-rogue-impostor"}
    try:
        for minion_id, container in containers.items():
            _start_rogue(sec_cluster, container, minion_id)
        # Waited for by the files salt-key reads: quicker to look at than a salt-key run.
        seen = f"test -e {PKI}/minions_pre/{ROGUE_ID} && test -e {PKI}/minions_denied/{primary}"
        deadline = time.monotonic() + 120
        while as_root(sec_cluster, SALT_MASTER, seen).returncode != 0:
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {c}:\n{docker_logs(c)[-2000:]}" for c in containers.values())
                keys = salt_keys(sec_cluster)
                pytest.fail(f"the master never saw the rogue minions' keys: {keys}\n{logs}", pytrace=False)
            time.sleep(0.5)
        yield containers
    finally:
        subprocess.run(["docker", "rm", "-f", *containers.values()], capture_output=True, check=False)
        as_root(sec_cluster, SALT_MASTER, f"rm -f {PKI}/minions_pre/{ROGUE_ID} {PKI}/minions_denied/{primary}")


BROADCAST_MARKER = "/tmp/orka-sec-state-for-every-minion"


@pytest.fixture(scope="module")
def broadcast(sec_cluster: Cluster, rogues: dict[str, str]) -> set[str]:
    """A state run for every minion ('*') while the rogues are about; the minions that answered."""
    ran = as_root(
        sec_cluster,
        SALT_MASTER,
        f"salt '*' state.single file.touch name={BROADCAST_MARKER} --out=json --static --timeout=15",
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return set(json.loads(ran.stdout))


def test_a_minion_with_a_key_orka_did_not_seed_is_not_accepted_and_runs_no_state(
    sec_cluster: Cluster, rogues: dict[str, str], broadcast: set[str]
) -> None:
    keys = salt_keys(sec_cluster)
    assert ROGUE_ID in keys["minions_pre"], "the rogue's key waits, unaccepted"
    assert ROGUE_ID not in keys["minions"]
    targeted = as_root(sec_cluster, SALT_MASTER, f"salt {ROGUE_ID} state.apply --out=json --static --timeout=5")
    assert targeted.returncode != 0, targeted.stdout + targeted.stderr
    assert "No minions matched the target" in targeted.stdout + targeted.stderr
    assert broadcast == {n.name for n in sec_cluster.nodes}, "a state for every minion reached the nodes alone"
    rogue = rogues[ROGUE_ID]
    assert "has cached the public key for this node" in docker_logs(rogue), "the rogue still waits to be accepted"
    never_ran = subprocess.run(["docker", "exec", rogue, "test", "!", "-e", BROADCAST_MARKER], check=False)
    assert never_ran.returncode == 0, "the state ran on the unaccepted minion"


def test_a_minion_claiming_a_nodes_id_with_another_key_is_denied(
    sec_cluster: Cluster, rogues: dict[str, str], broadcast: set[str]
) -> None:
    """The impostor is denied (and its salt-minion gives up); the real node keeps its key and its jobs."""
    primary = primary_of(sec_cluster)
    keys = salt_keys(sec_cluster)
    assert primary in keys["minions_denied"]
    assert primary in keys["minions"]
    accepted = as_root(sec_cluster, SALT_MASTER, f"cat {PKI}/minions/{primary}")
    seeded = (state_dir(sec_cluster) / "salt-keys" / f"{primary}.pub").read_text()
    assert accepted.stdout.strip() == seeded.strip(), "the master's key for the node is still the one orka seeded"
    assert "has rejected this minion's public key" in docker_logs(rogues[primary])
    assert primary in broadcast, "the real node still runs the master's jobs"
    assert as_root(sec_cluster, primary, f"test -e {BROADCAST_MARKER}").returncode == 0


# --- SSH: keys only, the cluster's own -----------------------------------------------------------


def ssh(ip: str, *options: str, user: str = "vagrant", key: Path | None = None) -> subprocess.CompletedProcess[str]:
    """OpenSSH from the host, with nothing of the user's own set-up (config, agent, keys)."""
    command = [
        "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "IdentityAgent=none",
    ]  # fmt: skip
    if key is not None:
        command += ["-o", "IdentitiesOnly=yes", "-i", str(key)]
    return subprocess.run([*command, *options, f"{user}@{ip}", "hostname"], capture_output=True, text=True, timeout=60)


def refused_with(result: subprocess.CompletedProcess[str]) -> str | None:
    """The methods sshd said may continue, when it refused the login."""
    found = re.search(r"Permission denied \(([^)]*)\)", result.stderr)
    return found.group(1) if result.returncode == 255 and found else None


def test_sshd_offers_no_password_login(sec_cluster: Cluster) -> None:
    """Asked for a password or keyboard-interactive login, every machine refuses and offers keys only."""
    problems = []
    for machine in sec_cluster.machines:
        result = ssh(
            machine.ip,
            "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
        )  # fmt: skip
        if refused_with(result) != "publickey":
            problems.append(
                f"{machine.name}: exit {result.returncode}, {result.stdout.strip()} {result.stderr.strip()}"
            )
    assert not problems, "\n".join(problems)


def test_sshd_effective_config_is_keys_only_and_no_root(sec_cluster: Cluster) -> None:
    wanted = {
        "authenticationmethods publickey",
        "pubkeyauthentication yes",
        "passwordauthentication no",
        "kbdinteractiveauthentication no",
        "permitemptypasswords no",
        "hostbasedauthentication no",
        "permitrootlogin no",
    }
    problems = []
    for machine in sec_cluster.machines:
        effective = set(as_root(sec_cluster, machine.name, "sshd -T").stdout.splitlines())
        problems += [f"{machine.name}: sshd -T lacks {line!r}" for line in sorted(wanted - effective)]
    assert not problems, "\n".join(problems)


def _private_copy(source: Path, folder: Path) -> Path:
    """ssh ignores a key others may read: a copy at 0600, so it is really offered."""
    copy = folder / source.name
    shutil.copyfile(source, copy)
    copy.chmod(0o600)
    return copy


def vagrant_insecure_keys() -> list[Path]:
    found = sorted(p for pattern in INSECURE_KEYS for p in Path("/").glob(pattern.lstrip("/")))
    keys = [p for p in found if p.suffix != ".pub" and p.is_file()]
    if not keys:
        pytest.fail(f"Vagrant's insecure private key not found ({', '.join(INSECURE_KEYS)}): install vagrant")
    return keys


def test_only_the_clusters_own_key_logs_in(sec_cluster: Cluster, other_spec: ClusterSpec, tmp_path: Path) -> None:
    """The cluster's key logs in as vagrant; not as root; Vagrant's well-known key and another
    cluster's key, though offered, are refused."""
    own = Path(sec_cluster.spec.ssh_private_key)
    strangers = [_private_copy(k, tmp_path) for k in vagrant_insecure_keys()]
    (tmp_path / "other").mkdir()
    strangers.append(_private_copy(Path(other_spec.ssh_private_key), tmp_path / "other"))
    problems = []
    for machine in sec_cluster.machines:
        logged_in = ssh(machine.ip, key=own)
        if logged_in.returncode != 0 or logged_in.stdout.strip() != machine.name:
            problems.append(f"{machine.name}: the cluster's key did not log in: {logged_in.stderr.strip()}")
        if refused_with(ssh(machine.ip, user="root", key=own)) != "publickey":
            problems.append(f"{machine.name}: root was not refused")
        for key in strangers:
            tried = ssh(machine.ip, "-v", key=key)
            if not re.search(rf"(Offering public key|Trying private key): {re.escape(str(key))}\b", tried.stderr):
                problems.append(f"{machine.name}: ssh did not offer {key}; the check would prove nothing")
            if refused_with(tried) != "publickey":
                problems.append(f"{machine.name}: {key} was not refused (exit {tried.returncode})")
    assert not problems, "\n".join(problems)


# --- what orka writes and prints -----------------------------------------------------------------

# A JUnit file from the records, by pytest's own junitxml, every record's whole text in a failure and in
# the captured output: more of the tools' output than a spike run's junit.xml ever holds.
RECORDS_AS_TESTS = """
import json, os, pytest
RECORDS = json.load(open(os.environ["ORKA_RESULTS"]))

@pytest.mark.parametrize("record", RECORDS, ids=[f"{r['method']}-{r['phase']}-{r['node']}" for r in RECORDS])
def test_record(record, record_property):
    for name in ("method", "phase", "node", "duration_s"):
        record_property(name, record[name])
    print(record.get("raw", ""))
    pytest.fail(json.dumps(record, indent=1))
"""


def junit_from_records(results: Path, folder: Path) -> Path:
    test_file, junit = folder / "test_records.py", folder / "junit.xml"
    test_file.write_text(RECORDS_AS_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not this run's options
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder),
            "-o", "junit_family=xunit1", f"--junitxml={junit}", str(test_file),
        ],
        cwd=folder, capture_output=True, text=True, check=False, env={**env, "ORKA_RESULTS": str(results)},
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]  # every record's test fails
    assert junit.exists()
    return junit


def test_logs_reports_and_junit_hold_no_key_material(sec_cluster: Cluster, console: Console, tmp_path: Path) -> None:
    """After every method has driven the cluster, nothing orka wrote or printed holds a private key:
    not the Vagrant log, the records, the comparison page, a JUnit file, nor the console."""
    results = tmp_path / "results.json"
    for name in METHODS:
        method = load_method(name)(sec_cluster, METHOD_TIMEOUT_S, EXAMPLE)
        method.wait_ready()
        context = RunContext(
            "security", len(sec_cluster.nodes), sec_cluster.spec.provider, method.version(), tuning=method.tuning
        )
        assert Spike(method, EXAMPLE, sec_cluster, context, results, console).run("ping").ok
    comparison = render_comparison(results, tmp_path / "comparison.html", bench_path=None)
    junit = junit_from_records(results, tmp_path)
    printed = tmp_path / "console.txt"
    printed.write_text("\n".join(console.lines) + "\n")
    paths = ClusterPaths.for_name(sec_cluster.name)
    written = [paths.log_file(), paths.ssh_config, paths.spec_file, results, comparison, junit, printed]

    keys = [load_known_key(p) for p in private_key_files(paths.state_dir)]
    # The SSH key and its control-node copy, the Salt master's key and each minion's, each with its upload copy.
    assert len(keys) == 2 + 2 * (1 + len(sec_cluster.nodes)), "the scan looks for every key of the cluster"
    assert {r["method"] for r in read_records(results)} == set(METHODS)
    assert "Machine booted and ready" in paths.log_file().read_text()
    seen = {f.kind for f in scan_paths([Path(sec_cluster.spec.ssh_private_key)], keys)}
    assert f"private key {sec_cluster.spec.ssh_private_key}" in seen, "the scan knows the cluster's key"
    findings = scan_paths(written, keys)
    assert not findings, "private key material where it must never be:\n" + "\n".join(map(str, findings))

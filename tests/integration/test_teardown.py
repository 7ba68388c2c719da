"""Teardown: however a run ends early, nothing of its cluster is left.

Each test drives orka as a user does, in a process group of its own (as a
shell runs a foreground job): a pytest session of the repository, or the
`orka` command. A failing test, a fixture that raises, Ctrl-C during bring-up
or during a method, and a run killed outright followed by `orka down`. Then
it looks, with docker and /proc directly rather than through orka, for what
may remain of the cluster: containers, networks, volumes, the state folder,
and processes started for it (a `vagrant up` in its own session survives
its run).

`test_down_all_clears_a_killed_run` removes EVERY orka cluster on the
machine: it runs in CI, and stops before that with a skip naming them when
a cluster is on the machine that is someone else's (there before this
session began, or another checkout's), and FAILS naming any other: a cluster
an earlier test of this run left. make test runs it alone, after the others (marker `alone`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.config.settings import default_settings
from orka.plan.state import CACHE_ROOT, STATE_ROOT
from orka.progress import to_stderr
from orka.providers.docker import ensure_image, remove_docker_leftovers
from tests.integration.clusters import cluster_names, docker_lines, of_another_checkout, user_environment

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("teardown")]

FAILING = "orka-teardown"  # the runs that fail a test or a fixture
INTERRUPTED = "orka-sigint"  # the runs stopped by Ctrl-C or killed
FAULTS = Path(__file__).parent / "data" / "teardown_faults.py"
LABEL = "orka.cluster"
# Bounds, generous for a 2-core machine shared with other clusters (a warm
# bring-up of 3 nodes took 11 s alone and 30 s under load).
BRING_UP_S = 300
RUN_S = BRING_UP_S + 120
EXIT_AFTER_CTRL_C_S = 60
DOWN_S = 120


LISTINGS = {
    "container": ["ps", "-a", "--format", "{{.Names}}"],
    "network": ["network", "ls", "--format", "{{.Name}}"],
    "volume": ["volume", "ls", "--format", "{{.Name}}"],
}


def labelled(kind: str, name: str) -> set[str]:
    """Names of the cluster's containers, networks or volumes, found by orka's label."""
    return set(docker_lines(*LISTINGS[kind], "--filter", f"label={LABEL}={name}"))


# -- what exists of a cluster, seen from outside orka --------------------------


@dataclass
class Seen:
    """Every docker object of a cluster seen while a run went on."""

    containers: set[str] = field(default_factory=set)
    networks: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)

    def look(self, name: str) -> None:
        containers = docker_lines("ps", "-aq", "--filter", f"label={LABEL}={name}")
        self.containers.update(labelled("container", name))
        self.networks.update(labelled("network", name))
        if containers:  # anonymous volumes would be removed with their container only if asked (docker rm -v)
            mounts = '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}'
            self.volumes.update(docker_lines("inspect", "--format", mounts, *containers))


@contextmanager
def watching(name: str) -> Iterator[Seen]:
    """Look at the cluster's docker objects every half second while the block runs."""
    seen, done = Seen(), threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.look(name)
            done.wait(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join(timeout=30)


def processes_of(name: str) -> dict[int, str]:
    """Running processes started for the cluster (their environment names its state folder), with their command."""
    marker = f"{STATE_ROOT / 'clusters' / name}/".encode()
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "environ").read_bytes():
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
    return found


def left_of(name: str, seen: Seen) -> list[str]:
    """Everything of the cluster still on the machine, each named; empty when it is all gone."""
    left = []
    by_name = set(docker_lines(*LISTINGS["container"], "--filter", f"name=^{name}-orka-"))
    left += [f"container {c}" for c in sorted(labelled("container", name) | by_name)]
    for kind, seen_of_kind in (("network", seen.networks), ("volume", seen.volumes)):
        still = seen_of_kind & set(docker_lines(*LISTINGS[kind]))
        left += [f"{kind} {n}" for n in sorted(labelled(kind, name) | still)]
    state = STATE_ROOT / "clusters" / name
    if state.exists():
        left.append(f"state folder {state} ({', '.join(sorted(p.name for p in state.iterdir()))})")
    left += [f"process {pid}: {command}" for pid, command in sorted(processes_of(name).items())]
    return left


def clean_up(name: str, run: Run | None = None) -> None:
    """Whatever a failed test left: its run, the cluster's processes, docker objects and state folder."""
    if run is not None:
        run.kill()
    for pid in processes_of(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    remove_docker_leftovers(name)
    shutil.rmtree(STATE_ROOT / "clusters" / name, ignore_errors=True)


# -- a run, as a user starts it --------------------------------------------------


def _ctrl_c_at_its_default() -> None:
    """As a shell sets up a foreground job. Started in the background (`make test &`, nohup, some CI
    runners), this test's own process ignores SIGINT, and an ignored signal stays ignored across exec:
    the command would never see the Ctrl-C this test sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """A command in a process group of its own, as a shell runs a foreground job, its output read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_ctrl_c_at_its_default,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until(self, condition: Callable[[], bool], what: str, timeout_s: float = BRING_UP_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"{self.argv[2:4]} ended (exit {self.process.returncode}) before {what}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout_s} s:\n{self.output}")
            time.sleep(0.2)

    def wait_for_line(self, pattern: str) -> None:
        self.wait_until(lambda: any(re.search(pattern, line) for line in self.lines), f"a line matching {pattern!r}")

    def ctrl_c(self) -> None:
        """What Ctrl-C in a terminal does: SIGINT to every process of the foreground job."""
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout_s: float) -> int:
        """The exit code; the run is killed and the test fails if it takes longer than timeout_s."""
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running after {timeout_s} s:\n{self.output}")
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """Three nodes and no master (the custom method only): the quickest real cluster."""
    path = tmp_path / "settings.yaml"
    path.write_text("cluster: 3\nprovider: docker\nmethods: [custom]\n")
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The user's environment, with reports going to tmp_path: the repository's reports/ stay as they are."""
    return user_environment(ORKA_REPORTS=str(tmp_path / "reports"))


def pytest_run(target: str, name: str, settings_file: Path, env: dict[str, str]) -> Run:
    argv = [sys.executable, "-m", "pytest", target, "--cluster-name", name, "--settings", str(settings_file)]
    return Run([*argv, "-p", "no:cacheprovider"], env)


def orka(*args: str, env: dict[str, str]) -> Run:
    return Run([sys.executable, "-m", "orka", *args], env)


def has_containers(name: str) -> Callable[[], bool]:
    """True once `vagrant up` has created a container of the cluster."""
    return lambda: bool(docker_lines("ps", "-aq", "--filter", f"label={LABEL}={name}"))


def assert_short_exit(run: Run, code: int, expected: int, says: str) -> None:
    assert code == expected, run.output
    assert says in run.output, run.output
    assert "Traceback" not in run.output, run.output


# -- a failure inside a run --------------------------------------------------


@pytest.mark.parametrize(
    ("test", "outcome"),
    [("test_fails_an_assert", "1 failed"), ("test_with_a_broken_fixture", "1 error")],
    ids=["failing-test", "fixture-raises"],
)
def test_a_failure_in_a_run_leaves_nothing(test: str, outcome: str, settings_file: Path, env: dict[str, str]) -> None:
    run = None
    try:
        with watching(FAILING) as seen:
            run = pytest_run(f"{FAULTS}::{test}", FAILING, settings_file, env)
            code = run.finish(RUN_S)
        assert code == 1, run.output
        assert outcome in run.output, run.output
        assert f"under test: cluster {FAILING} was up with 3 running containers" in run.output, run.output
        assert len(seen.containers) == 3, f"the cluster was never seen: {seen}"
        assert seen.networks, f"the cluster's network was never seen: {seen}"
        assert left_of(FAILING, seen) == []
    finally:
        clean_up(FAILING, run)


# -- Ctrl-C --------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["orka-up", "pytest"])
def test_ctrl_c_during_bring_up_leaves_nothing(entry: str, settings_file: Path, env: dict[str, str]) -> None:
    """Stopped while `vagrant up` creates the containers: the half-built cluster goes too (orka up keeps
    a cluster only once it is up)."""
    run = None
    try:
        with watching(INTERRUPTED) as seen:
            if entry == "orka-up":
                run = orka("up", "--name", INTERRUPTED, "--settings", str(settings_file), env=env)
            else:
                run = pytest_run(f"{FAULTS}::test_fails_an_assert", INTERRUPTED, settings_file, env)
            run.wait_until(has_containers(INTERRUPTED), "a container of the cluster")
            # Looked at here too: the watcher's half-second look can miss a container that Ctrl-C removes at once.
            seen.look(INTERRUPTED)
            run.ctrl_c()
            code = run.finish(EXIT_AFTER_CTRL_C_S)
        if entry == "orka-up":
            assert_short_exit(run, code, 130, "orka: interrupted")
        else:
            assert_short_exit(run, code, 2, "KeyboardInterrupt")
        assert f"cluster {INTERRUPTED}: provider" not in run.output, "interrupted after `orka up` was done"
        assert "running containers" not in run.output, "interrupted after the test had started"
        assert seen.containers, "no container was seen before Ctrl-C"
        assert left_of(INTERRUPTED, seen) == []
    finally:
        clean_up(INTERRUPTED, run)


def test_ctrl_c_during_a_method_leaves_nothing(settings_file: Path, env: dict[str, str], tmp_path: Path) -> None:
    """The custom method's apply is running when Ctrl-C comes: pytest stops, and its teardown removes everything."""
    run = None
    try:
        with watching(INTERRUPTED) as seen:
            run = pytest_run("spikes/custom/test_custom.py", INTERRUPTED, settings_file, env)
            run.wait_for_line(r"\[orka\] custom (up|ping)\b")  # the method's first phase is recorded
            time.sleep(1)  # into the apply: its first change takes seconds on every node
            run.ctrl_c()
            code = run.finish(EXIT_AFTER_CTRL_C_S)
        assert_short_exit(run, code, 2, "KeyboardInterrupt")
        collected = re.search(r"collected (\d+) items", run.output)
        passed = re.search(r"(\d+) passed", run.output)
        assert collected, run.output
        assert int(passed.group(1) if passed else 0) < int(collected.group(1)), "the run ended before Ctrl-C"
        assert seen.containers, "no container was seen"
        assert left_of(INTERRUPTED, seen) == []
        # The run's records went where ORKA_REPORTS said, not to the repository's reports/.
        records = json.loads((tmp_path / "reports" / "results.json").read_text())
        assert {r["method"] for r in records} == {"custom"}, records
    finally:
        clean_up(INTERRUPTED, run)


# -- a run killed outright, then `orka down` ----------------------------------


def vagrant_child(run: Run) -> int:
    """The `vagrant up` that orka started (in a session of its own, so it outlives orka)."""
    found: list[int] = []

    def started() -> bool:
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if parent == run.process.pid and b"vagrant" in command:
                found.append(int(entry.name))
        return bool(found)

    run.wait_until(started, "a vagrant process started by orka")
    return found[0]


def killed_run(settings_file: Path, env: dict[str, str], vagrant_too: bool) -> Run:
    """An `orka up` killed with SIGKILL while creating containers, as a crash leaves it.

    With vagrant_too its `vagrant up` is killed as well; otherwise it goes on, as
    it does after a real crash or a closed terminal (its session outlives orka)."""
    run = orka("up", "--name", INTERRUPTED, "--settings", str(settings_file), env=env)
    run.wait_until(has_containers(INTERRUPTED), "a container of the cluster")
    vagrant = vagrant_child(run)
    os.kill(run.process.pid, signal.SIGKILL)
    if vagrant_too:
        os.killpg(vagrant, signal.SIGKILL)
    run.finish(30)
    left = left_of(INTERRUPTED, Seen())
    assert any(item.startswith("container ") for item in left), left
    assert any(item.startswith("state folder ") for item in left), left
    assert any(item.startswith(f"process {vagrant}:") for item in left) != vagrant_too, left
    return run


@pytest.mark.parametrize(
    ("vagrant_too", "plan_lost"),
    [(True, False), (False, True)],
    ids=["vagrant-killed-too", "vagrant-still-running-plan-lost"],
)
def test_down_clears_a_killed_run(vagrant_too: bool, plan_lost: bool, settings_file: Path, env: dict[str, str]) -> None:
    """`orka down --name` removes what a killed run left of that cluster, also with its plan gone
    (a state folder half-written), and stops a `vagrant up` that is still creating machines."""
    run = None
    try:
        with watching(INTERRUPTED) as seen:
            run = killed_run(settings_file, env, vagrant_too)
            if plan_lost:
                (STATE_ROOT / "clusters" / INTERRUPTED / "spec.json").unlink()
            down = orka("down", "--name", INTERRUPTED, "--settings", str(settings_file), env=env)
            assert down.finish(DOWN_S) == 0, down.output
        assert left_of(INTERRUPTED, seen) == []
        assert re.search(rf"cluster {INTERRUPTED}: removed .*\d+ containers? \({INTERRUPTED}-orka-node-", down.output)
        assert f"the folder .orka/clusters/{INTERRUPTED}" in down.output, down.output
        assert ("running process" in down.output) != vagrant_too, down.output
        again = orka("down", "--name", INTERRUPTED, "--settings", str(settings_file), env=env)
        assert again.finish(DOWN_S) == 0, again.output
        assert f"cluster {INTERRUPTED}: nothing here" in again.output
    finally:
        clean_up(INTERRUPTED, run)


def other_clusters() -> list[str]:
    """Clusters on this machine other than this test's own: `orka down --all` would remove them too."""
    return sorted(cluster_names() - {INTERRUPTED})


@pytest.mark.alone
def test_down_all_clears_a_killed_run(
    settings_file: Path, env: dict[str, str], clusters_before_session: frozenset[str], worker_id: str
) -> None:
    """`orka down --all` (as `make down` runs it) removes what a killed run left, and says what it removed.

    Another cluster on the machine stops it before the command: someone else's (there before this session,
    or another checkout's) with a skip; one an earlier test of this run left with a failure naming it."""
    run = None
    try:
        with watching(INTERRUPTED) as seen:
            run = killed_run(settings_file, env, vagrant_too=True)
            others = other_clusters()  # as late as can be, right before the command
            theirs = [c for c in others if c in clusters_before_session or of_another_checkout(c)]
            ours = [c for c in others if c not in theirs]
            if ours and worker_id == "master":
                pytest.fail(f"left by earlier tests of this run: {', '.join(ours)} (`orka down --name NAME`)")
            if ours:  # an xdist worker: another worker of this run may be using it
                theirs += [f"{c} (this run's, maybe another xdist worker's)" for c in ours]
            if theirs:
                pytest.skip(f"`orka down --all` would remove other clusters on this machine: {', '.join(theirs)}")
            down = orka("down", "--all", "--settings", str(settings_file), env=env)
            assert down.finish(DOWN_S) == 0, down.output
        assert left_of(INTERRUPTED, seen) == []
        assert re.search(rf"cluster {INTERRUPTED}: removed .*\d+ containers? \({INTERRUPTED}-orka-node-", down.output)
        assert docker_lines("ps", "-aq", "--filter", f"label={LABEL}") == []
        assert docker_lines("network", "ls", "-q", "--filter", f"label={LABEL}") == []
    finally:
        clean_up(INTERRUPTED, run)


STUCK = "orka-stuck"  # a cluster whose network docker refuses to remove


def test_down_names_what_docker_will_not_remove(env: dict[str, str]) -> None:
    """A network docker refuses to remove (here: a container orka did not label still on it, as a daemon
    holding stale endpoints refuses) is named with docker's reason and the fix, not passed over in silence."""
    settings = default_settings()
    image = ensure_image(settings.image_recipe, settings.platform.suite, CACHE_ROOT, to_stderr)
    network = f"{STUCK}-net"
    blocker = f"{STUCK}-blocker"
    try:
        subprocess.run(["docker", "network", "create", "--label", f"{LABEL}={STUCK}", network], check=True)
        subprocess.run(
            ["docker", "run", "-d", "--name", blocker, "--network", network, "--entrypoint", "sleep", image, "600"],
            check=True,
            capture_output=True,
        )
        down = orka("down", "--name", STUCK, env=env)
        assert down.finish(DOWN_S) != 0, down.output
        assert network in down.output, down.output
        assert "active endpoints" in down.output, down.output
        assert "restart docker" in down.output, down.output
        assert "Traceback" not in down.output, down.output
    finally:
        subprocess.run(["docker", "rm", "-f", blocker], capture_output=True, check=False)
        remove_docker_leftovers(STUCK)
    assert docker_lines("network", "ls", "-q", "--filter", f"label={LABEL}={STUCK}") == []

"""orka's task runner against Ansible and pyinfra, from this host, on one cluster.

    python benchmarks/bench_methods.py                          # 3, 10 and 25 nodes, every tool, 1 run
    python benchmarks/bench_methods.py --sizes 3 --runs 3
    python benchmarks/bench_methods.py --sizes 10 --tools custom,ansible
    python benchmarks/bench_methods.py --fleet 100 --runs 3      # 100 lightweight hosts (benchmarks/fleet.py)

For each size N one cluster of N nodes (no masters) is brought up by orka as
`orka-bench` and destroyed after; with --fleet, N lightweight hosts instead
(sshd and python3 in orka's node image, no systemd, root by key, on a network
of their own), started by the benchmark with `docker run` and removed after,
with this host's memory in use and load average recorded, and the runner's
targets at that scale printed as met or not. Every tool then drives the nodes over SSH
from this host, in three phases:

  ping    reach every node and run something as root; measured COLD: every
          multiplexed SSH connection (orka's, Ansible's) is closed first
  apply   the same four tasks (system group, system user in it, a directory
          owned by it, a 0644 file in it), named per tool so each tool really
          changes something; right after ping, so tools that keep their SSH
          connections open (orka, Ansible) start warm
  apply2  the same again: nothing left to change

Tools: `custom` (orka.runner.run_taskfile in this process), `custom-cli`
(`python -m orka run`, so process start is included), `ansible`
(`ansible`/`ansible-playbook`, configured as orka/methods/ansible/scripts/ansible.cfg) and
`pyinfra` (the CLI, `--parallel N`). Each figure is the wall time of the whole
invocation; it is marked invalid when the tool failed or when the nodes do
not hold what it should have left (checked after each apply).

Prints a table per size and writes reports/bench_methods.json. A script, not
a test: it measures, it asserts nothing. Needs `pip install -e '.[dev,bench]'`.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime
import importlib.metadata
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleet import fleet, static_cluster  # beside this script
from machine import CORES, busy_core_seconds, cores_busy, host_usage

from orka.config import REPO_ROOT
from orka.config.settings import load_settings
from orka.progress import to_stderr
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.runner import Inventory, RunReport, parse_taskfile, run_taskfile
from orka.runner.inventory import load_inventory
from orka.runner.ssh import read_ssh_config

NAME = "orka-bench"
TOOLS = ("custom", "custom-cli", "ansible", "pyinfra")
PHASES = ("ping", "apply", "apply2")
HEADINGS = {"ping": "ping s", "apply": "apply s", "apply2": "2nd apply s"}
TOOL_TIMEOUT_S = 900
NOLOGIN = "/usr/sbin/nologin"  # the nodes are Debian
BIN = Path(sys.executable).parent
NOTES = (
    "ping is measured cold: every multiplexed SSH connection (orka's, Ansible's) is closed before each tool's ping",
    "apply runs right after ping, so tools that keep SSH connections open (custom, custom-cli, ansible) start warm;"
    " pyinfra (paramiko) connects afresh on every invocation",
    "apply2 is a second apply with nothing left to change",
    "custom runs in this process (no interpreter start); custom-cli is `python -m orka run` with a YAML inventory",
    "each figure is the wall time (time.monotonic) of the whole invocation; `!` marks an invalid one",
)


@dataclasses.dataclass(frozen=True)
class Node:
    name: str
    address: str
    user: str
    key: str
    port: int


@dataclasses.dataclass
class Outcome:
    seconds: float
    ok: bool
    exit_code: int | None = None
    changed: int | None = None
    problem: str = ""
    output: str = ""
    cpu_s: float | None = None  # this process's CPU time, for the runner in it


def emit(line: str) -> None:
    to_stderr(line)


# -- what each tool is given ---------------------------------------------


def ident(tool: str) -> str:
    """The group and user each tool creates (bench_custom_cli, ...)."""
    return "bench_" + tool.replace("-", "_")


def folder(tool: str) -> str:
    return f"/opt/bench-{tool}"


def content(tool: str) -> str:
    return f"hello from {tool}\n"


def orka_tasks(tool: str) -> str:
    name, path = ident(tool), folder(tool)
    tasks = [
        {"name": "group", "group": {"name": name, "system": True}},
        {"name": "user", "user": {"name": name, "system": True, "group": name, "home": path, "shell": NOLOGIN}},
        {"name": "directory", "directory": {"path": path, "owner": name, "group": name, "mode": "0755"}},
        {
            "name": "hello.txt",
            "file": {"path": f"{path}/hello.txt", "content": content(tool), "owner": name, "group": name,
                     "mode": "0644"},
        },
    ]  # fmt: skip
    return yaml.safe_dump({"tasks": tasks}, sort_keys=False)


PING_TASKS = "tasks: [{name: ping, ping: {}}]"


def ansible_playbook(tool: str) -> str:
    name, path = ident(tool), folder(tool)
    play = {
        "name": "bench",
        "hosts": "all",
        "become": True,
        "gather_facts": False,
        "tasks": [
            {"name": "group", "ansible.builtin.group": {"name": name, "system": True}},
            {
                "name": "user",
                "ansible.builtin.user": {"name": name, "system": True, "group": name, "home": path,
                                         "shell": NOLOGIN, "create_home": False},
            },
            {
                "name": "directory",
                "ansible.builtin.file": {"path": path, "state": "directory", "owner": name, "group": name,
                                         "mode": "0755"},
            },
            {
                "name": "hello.txt",
                "ansible.builtin.copy": {"dest": f"{path}/hello.txt", "content": content(tool), "owner": name,
                                         "group": name, "mode": "0644"},
            },
        ],
    }  # fmt: skip
    return yaml.safe_dump([play], sort_keys=False)


def ansible_cfg(control_dir: Path, forks: int) -> str:
    # orka/methods/ansible/scripts/ansible.cfg, plus who to be and which key (the spike's
    # control node has them in its inventory), and where the sockets go.
    # UserKnownHostsFile=/dev/null as in orka's ssh-config: the nodes are new each time.
    return textwrap.dedent(f"""\
        [defaults]
        forks = {forks}
        host_key_checking = False
        interpreter_python = auto_silent
        gathering = smart
        retry_files_enabled = False
        timeout = 10
        remote_user = vagrant

        [privilege_escalation]
        become = True

        [ssh_connection]
        pipelining = True
        ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o PreferredAuthentications=publickey \
-o UserKnownHostsFile=/dev/null
        control_path_dir = {control_dir}
        """)


def ansible_inventory(nodes: list[Node]) -> str:
    lines = ["[nodes]"]
    for n in nodes:
        lines.append(
            f"{n.name} ansible_host={n.address} ansible_port={n.port} ansible_user={n.user} "
            f"ansible_ssh_private_key_file={n.key}"
        )
    return "\n".join(lines) + "\n"


def pyinfra_inventory(nodes: list[Node], known_hosts: Path) -> str:
    hosts = [
        (
            n.name,
            {
                "ssh_hostname": n.address,
                "ssh_port": n.port,
                "ssh_user": n.user,
                "ssh_key": n.key,
                # Only this key, as IdentitiesOnly does for OpenSSH; host keys in a file of our own.
                "ssh_allow_agent": False,
                "ssh_look_for_keys": False,
                "ssh_known_hosts_file": str(known_hosts),
                "ssh_strict_host_key_checking": "accept-new",
            },
        )
        for n in nodes
    ]
    return f"nodes = {hosts!r}\n"


def pyinfra_deploy(tool: str) -> str:
    name, path = ident(tool), folder(tool)
    return textwrap.dedent(f"""\
        from io import StringIO

        from pyinfra.operations import files, server

        server.group(name="group", group={name!r}, system=True, _sudo=True)
        server.user(name="user", user={name!r}, group={name!r}, system=True, home={path!r}, shell={NOLOGIN!r},
                    ensure_home=False, _sudo=True)
        files.directory(name="directory", path={path!r}, user={name!r}, group={name!r}, mode="0755", _sudo=True)
        files.put(name="hello.txt", src=StringIO({content(tool)!r}), dest={path + "/hello.txt"!r}, user={name!r},
                  group={name!r}, mode="0644", _sudo=True)
        """)


def runner_inventory(nodes: list[Node]) -> str:
    hosts = {n.name: {"address": n.address, "user": n.user, "key": n.key, "port": n.port} for n in nodes}
    # The nodes are new every time, at addresses seen before: no host key to check.
    return yaml.safe_dump({"known_hosts": "none", "hosts": hosts}, sort_keys=False)


def nodes_from_ssh_config(path: Path, names: list[str]) -> list[Node]:
    """HostName, User, IdentityFile and Port of each node, from Vagrant's ssh-config."""
    entries = read_ssh_config(path)
    nodes = []
    for name in names:
        entry = entries.get(name)
        if not entry or "hostname" not in entry or "identityfile" not in entry:
            raise SystemExit(f"{path}: no HostName/IdentityFile for {name}")
        nodes.append(
            Node(name, entry["hostname"], entry.get("user", "vagrant"), entry["identityfile"],
                 int(entry.get("port", "22")))
        )  # fmt: skip
    return nodes


# -- SSH connections -----------------------------------------------------


def close_masters(folder: Path) -> int:
    """Close every OpenSSH control master whose socket is in folder; how many."""
    closed = 0
    if not folder.is_dir():
        return 0
    for socket in folder.iterdir():
        if not socket.is_socket():
            continue
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "bench-close"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        socket.unlink(missing_ok=True)
        closed += 1
    return closed


# -- the benchmark -------------------------------------------------------


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def changed_in(report: RunReport) -> int:
    return sum(len(run.changed) for run in report.runs())


def report_problem(report: RunReport) -> str:
    bad = [run for run in report.runs() if not run.ok]
    return "; ".join(
        f"{run.host}: {run.error or ', '.join(f'{t.task}: {t.msg}' for t in run.failed)}" for run in bad[:5]
    )


class Bench:
    def __init__(self, nodes: list[Node], work: Path, inventory: Inventory | None = None) -> None:
        """The tools against these nodes; the runner's inventory is the cluster's, else the one written here."""
        self.nodes = nodes
        self.size = len(self.nodes)
        self.work = work
        self.ansible_cp = work / "ansible-cp"
        self.files: dict[str, Path] = {}
        self.write_files()
        self.inventory: Inventory = inventory or load_inventory(self.files["runner-inventory"])

    @classmethod
    def of_cluster(cls, cluster: Cluster, work: Path) -> Bench:
        """Every tool reaches the nodes as orka's ssh_config says; the runner through the cluster's inventory."""
        nodes = nodes_from_ssh_config(cluster.paths.ssh_config, [n.name for n in cluster.nodes])
        return cls(nodes, work, cluster.inventory("custom"))

    def write(self, name: str, text: str, mode: int = 0o644) -> Path:
        path = self.work / name
        path.write_text(text)
        path.chmod(mode)
        return path

    def write_files(self) -> None:
        w = self.write
        self.files["runner-inventory"] = w("runner-inventory.yml", runner_inventory(self.nodes))
        self.files["ping-tasks"] = w("ping.yml", PING_TASKS + "\n")
        self.files["ansible.cfg"] = w("ansible.cfg", ansible_cfg(self.ansible_cp, forks=max(self.size, 5)))
        self.files["ansible-inventory"] = w("ansible-hosts.ini", ansible_inventory(self.nodes))
        self.files["pyinfra-inventory"] = w("pyinfra_inventory.py", pyinfra_inventory(self.nodes, self.work / "kh"))
        (self.work / "kh").touch()
        for tool in TOOLS:
            self.files[f"tasks-{tool}"] = w(f"tasks-{tool}.yml", orka_tasks(tool))
        self.files["playbook"] = w("playbook.yml", ansible_playbook("ansible"))
        self.files["deploy"] = w("deploy_pyinfra.py", pyinfra_deploy("pyinfra"))

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(self.files["ansible.cfg"]),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(self.work / "ansible-tmp"),
            "PYINFRA_YES": "1",
            "NO_COLOR": "1",
            "PYTHONPATH": str(REPO_ROOT),
        }

    def cold(self) -> int:
        # orka's runner keeps its connections only for the length of one run.
        closed = close_masters(self.ansible_cp)
        shutil.rmtree(self.ansible_cp, ignore_errors=True)
        return closed

    # -- one invocation of one tool --------------------------------------

    def in_process(self, tasks: str) -> Outcome:
        start, cpu = time.monotonic(), time.process_time()
        report = run_taskfile(self.inventory, parse_taskfile(tasks))
        seconds, cpu_s = time.monotonic() - start, time.process_time() - cpu
        return Outcome(seconds, report.ok, None, changed_in(report), report_problem(report), cpu_s=cpu_s)

    def profile_custom(self, out: Path, top: int = 12) -> str:
        """The runner's apply once more under cProfile (not timed with the others): where its time goes."""
        self.reset(["custom"])
        profiler = cProfile.Profile()
        start = time.monotonic()
        profiler.enable()
        report = run_taskfile(self.inventory, parse_taskfile(orka_tasks("custom")))
        profiler.disable()
        wall = time.monotonic() - start
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        print(f"custom apply on {self.size} hosts under cProfile: {wall:.2f} s wall, ok={report.ok}", file=text)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        out.write_text(text.getvalue())
        return text.getvalue()

    def command(self, argv: list[str]) -> tuple[Outcome, str]:
        start = time.monotonic()
        try:
            done = subprocess.run(
                argv, cwd=self.work, env=self.env(), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return Outcome(time.monotonic() - start, False, None, None, f"no end within {TOOL_TIMEOUT_S} s"), ""
        seconds = time.monotonic() - start
        output = done.stdout + ("\n" + done.stderr if done.stderr else "")
        problem = "" if done.returncode == 0 else f"exit {done.returncode}"
        return Outcome(seconds, not problem, done.returncode, None, problem, tail(output)), output

    def custom_cli(self, taskfile: Path) -> Outcome:
        argv = [sys.executable, "-m", "orka", "run", str(taskfile), "--inventory", str(self.files["runner-inventory"])]
        outcome, output = self.command([*argv, "--json"])
        try:
            data = json.loads(output[output.index("{") : output.rindex("}") + 1])
            hosts = [h for step in data["steps"] for h in step["hosts"]]
            outcome.changed = sum(len(h["changed"]) for h in hosts)
            if len(hosts) != self.size or not all(h["ok"] for h in hosts):
                outcome.ok = False
                outcome.problem = outcome.problem or "not every host ok"
        except (ValueError, KeyError, TypeError):
            outcome.ok = False
            outcome.problem = outcome.problem or "no JSON report"
        return outcome

    def ansible(self, phase: str) -> Outcome:
        inventory = str(self.files["ansible-inventory"])
        if phase == "ping":
            outcome, output = self.command([str(BIN / "ansible"), "all", "-i", inventory, "-m", "ping"])
            answered = len(re.findall(r"\| SUCCESS =>", output))
            if answered != self.size:
                outcome.ok = False
                outcome.problem = outcome.problem or f"{answered} of {self.size} answered"
            return outcome
        outcome, output = self.command([str(BIN / "ansible-playbook"), "-i", inventory, str(self.files["playbook"])])
        recap = re.findall(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M)
        outcome.changed = sum(int(r[2]) for r in recap)
        if len(recap) != self.size or any(int(r[3]) or int(r[4]) for r in recap):
            outcome.ok = False
            outcome.problem = outcome.problem or "recap shows unreachable or failed hosts"
        return outcome

    def pyinfra(self, phase: str) -> Outcome:
        base = [str(BIN / "pyinfra"), "-y", "--parallel", str(self.size)]
        inventory = str(self.files["pyinfra-inventory"])
        if phase == "ping":
            outcome, output = self.command([*base, "--sudo", inventory, "exec", "--", "true"])
        else:
            outcome, output = self.command([*base, inventory, str(self.files["deploy"])])
        # The results table's last line: Grand total, hosts x operations, Success (changed), Error, No Change.
        total = re.search(r"^\s*Grand total\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)", output, re.M)
        counts = [0 if cell == "-" else int(cell) for cell in total.groups()] if total else []
        operations = 1 if phase == "ping" else 4
        # (Its per-host "Connected" lines are not printed for every host of a larger
        # inventory, so the table, and the check of the nodes after an apply, decide.)
        if not counts or counts[2] or counts[1] + counts[3] != self.size * operations:
            outcome.ok = False
            outcome.problem = outcome.problem or "results table shows errors or missing operations"
        if phase != "ping" and counts:
            outcome.changed = counts[1]
        return outcome

    def run(self, tool: str, phase: str) -> Outcome:
        if tool == "custom":
            text = PING_TASKS if phase == "ping" else orka_tasks(tool)
            return self.in_process(text)
        if tool == "custom-cli":
            return self.custom_cli(self.files["ping-tasks"] if phase == "ping" else self.files[f"tasks-{tool}"])
        if tool == "ansible":
            return self.ansible(phase)
        return self.pyinfra(phase)

    # -- what the nodes hold ---------------------------------------------

    def verify(self, tool: str) -> str:
        """'' when every node holds what the tool should have left, else what is wrong."""
        name, path = ident(tool), folder(tool)
        script = (
            f"stat -c '%F %U:%G %a' {path} {path}/hello.txt; cat {path}/hello.txt; id -gn {name}; "
            f'getent passwd {name} | cut -d: -f6,7; test "$(id -u {name})" -lt 1000 && echo system'
        )
        expected = "\n".join(
            [
                f"directory {name}:{name} 755",
                f"regular file {name}:{name} 644",
                content(tool).strip(),
                name,
                f"{path}:{NOLOGIN}",
                "system",
            ]
        )
        task = {"name": "verify", "command": {"run": script, "changes": False}}
        taskfile = parse_taskfile(yaml.safe_dump({"tasks": [task]}))
        report = run_taskfile(self.inventory, taskfile)
        wrong = []
        for run in report.runs():
            if not run.ok:
                wrong.append(f"{run.host}: {report_problem(RunReport((('v', (run,)),), 0))}")
            elif run.results[0].msg.strip() != expected:
                wrong.append(f"{run.host}: holds {run.results[0].msg.strip()!r}")
        return "; ".join(wrong)

    def reset(self, tools: list[str]) -> None:
        """Remove what earlier runs left, so every apply has something to do (not timed)."""
        parts = [f"userdel {ident(t)}; groupdel {ident(t)}; rm -rf {folder(t)}" for t in tools]
        script = "; ".join(parts) + "; true"
        taskfile = parse_taskfile(yaml.safe_dump({"tasks": [{"name": "reset", "command": {"run": script}}]}))
        report = run_taskfile(self.inventory, taskfile)
        if not report.ok:
            raise SystemExit(f"could not reset the nodes: {report_problem(report)}")


# -- reporting -----------------------------------------------------------


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("orka", "ansible-core", "pyinfra", "paramiko"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False)
    found["openssh"] = (ssh.stderr or ssh.stdout).strip()
    return found


def machine() -> dict[str, Any]:
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_mb": memory_kb // 1024,
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def median_of(records: list[dict[str, Any]], size: int, tool: str, phase: str) -> tuple[float | None, bool]:
    """Median of the valid runs, and whether any run of it was invalid."""
    mine = [r for r in records if (r["size"], r["tool"], r["phase"]) == (size, tool, phase)]
    valid = [r["seconds"] for r in mine if r["valid"]]
    return (statistics.median(valid) if valid else None), len(valid) != len(mine)


def print_table(
    records: list[dict[str, Any]], size: int, tools: list[str], runs: int, kind: str = "nodes, docker provider"
) -> dict[str, Any]:
    print(f"\n{size} {kind}, from this host over SSH; median of {runs} run(s)")
    for note in NOTES:
        print(f"  * {note}")
    print(f"  {'tool':<18}" + "".join(f"{HEADINGS[p]:>13}" for p in PHASES) + "   changes (apply, 2nd apply)")
    summary: dict[str, Any] = {}
    for tool in tools:
        row, cells = {}, []
        for phase in PHASES:
            value, invalid = median_of(records, size, tool, phase)
            row[phase] = value
            cells.append(("-" if value is None else f"{value:.2f}") + ("!" if invalid else " "))
        changes = [
            r["changed"]
            for phase in ("apply", "apply2")
            for r in records
            if (r["size"], r["tool"], r["phase"], r["run"]) == (size, tool, phase, runs)
        ]
        summary[tool] = row
        shown = ", ".join("?" if c is None else str(c) for c in changes)
        print(f"  {tool:<18}" + "".join(f"{c:>13}" for c in cells) + f"   {shown}")
    for mine in ("custom", "custom-cli"):
        for other in ("pyinfra", "ansible"):
            if mine in summary and other in summary:
                cells = []
                for phase in PHASES:
                    a, b = summary[mine][phase], summary[other][phase]
                    cells.append(f"{a / b:.2f}x " if a is not None and b else "- ")
                    summary.setdefault("ratios", {}).setdefault(f"{mine}/{other}", {})[phase] = (
                        round(a / b, 3) if a is not None and b else None
                    )
                print(f"  {mine + '/' + other:<18}" + "".join(f"{c:>13}" for c in cells))
    problems = [r for r in records if r["size"] == size and (r["problem"] or not r["valid"])]
    for r in problems:
        print(f"  ! {r['tool']} {r['phase']} (run {r['run']}): {r['problem']}")
    runs_of = {p: [r for r in records if (r["size"], r["tool"], r["phase"]) == (size, "custom", p)] for p in PHASES}
    if all(r["cpu_seconds"] is not None for rs in runs_of.values() for r in rs) and all(runs_of.values()):
        cpu = {p: statistics.median(r["cpu_seconds"] for r in rs) for p, rs in runs_of.items()}
        busy = {p: statistics.median(r["busy_core_seconds"] for r in rs) for p, rs in runs_of.items()}
        walls = {p: statistics.median(r["seconds"] for r in rs) for p, rs in runs_of.items()}
        summary["custom_cpu_s"], summary["custom_busy_core_s"] = cpu, busy
        shown = ", ".join(f"{p} {c:.2f} s" for p, c in cpu.items())
        print(f"  custom's CPU time in this process (the controller's share of its wall time): {shown}")
        shown = ", ".join(f"{p} {b:.2f} core-s ({cores_busy(b, walls[p]):.0%})" for p, b in busy.items() if walls[p])
        print(f"  this machine's {CORES} cores busy meanwhile (every process, the hosts' sshd and sudo too): {shown}")
    return summary


def measure_size(size: int, tools: list[str], runs: int, records: list[dict[str, Any]]) -> float:
    """Measure every tool on a cluster of size nodes; return how long the cluster took to come up."""
    settings = dataclasses.replace(load_settings(None, {"cluster": size, "provider": "docker"}), methods=("custom",))
    emit(f"[bench] {size} nodes: bringing up cluster {NAME}")
    start = time.monotonic()
    with started(settings, name=NAME, emit=emit) as cluster, tempfile.TemporaryDirectory(prefix="orka-bm-") as tmp:
        bring_up = time.monotonic() - start
        emit(f"[bench] {size} nodes: cluster ready in {bring_up:.1f} s")
        measure(Bench.of_cluster(cluster, Path(tmp)), size, tools, runs, records)
    return bring_up


def measure_fleet(
    size: int, tools: list[str], runs: int, records: list[dict[str, Any]], profile: bool
) -> dict[str, Any]:
    """Measure every tool on a fleet of size lightweight hosts; what the fleet took and used."""
    with (
        tempfile.TemporaryDirectory(prefix="orka-bm-fleet-") as tmp,
        fleet(size, Path(tmp), emit) as hosts,
        static_cluster(hosts, Path(tmp), emit) as cluster,
    ):
        before = host_usage()
        bench = Bench.of_cluster(cluster, Path(tmp))
        measure(bench, size, tools, runs, records, kind="fleet")
        found = {"started_s": round(hosts.started_s, 1), "usage": host_usage(), "usage_before": before}
        if profile and "custom" in tools:
            out = REPO_ROOT / "reports" / f"bench_methods_profile-{size}.txt"
            print("\n" + "\n".join(bench.profile_custom(out).splitlines()[:40]))
            print(f"written: {out.relative_to(REPO_ROOT)}")
        return found


def fleet_targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue #22's targets for the runner on a fleet, printed as met or not."""
    found = []
    custom, pyinfra = summary.get("custom", {}), summary.get("pyinfra", {})
    if custom.get("apply") is not None and pyinfra.get("apply"):
        found.append(("custom apply against pyinfra's", custom["apply"] / pyinfra["apply"], 0.25, "x"))
    if custom.get("ping") is not None:
        found.append(("custom ping", custom["ping"], 2.0, " s"))
    targets = []
    for what, value, limit, unit in found:
        met = value <= limit
        print(f"  [{'met' if met else 'NOT met'}] {what}: {value:.2f}{unit} (target at most {limit:g}{unit})")
        targets.append({"target": what, "value": round(value, 3), "limit": limit, "met": met})
    return targets


def measure(
    bench: Bench, size: int, tools: list[str], runs: int, records: list[dict[str, Any]], kind: str = "cluster"
) -> None:
    """Every tool, every phase, runs times, on the bench's nodes; one record per tool x phase x run."""
    try:
        for run in range(1, runs + 1):
            bench.reset(tools)
            for tool in tools:
                closed = bench.cold()
                emit(f"[bench] {size} nodes, run {run}/{runs}, {tool}: closed {closed} SSH connection(s)")
                for phase in PHASES:
                    busy_before = busy_core_seconds()
                    outcome = bench.run(tool, phase)
                    busy = busy_core_seconds() - busy_before
                    problem = outcome.problem
                    if outcome.ok and phase != "ping":
                        problem = bench.verify(tool)
                        if problem:
                            problem = "nodes do not hold the result: " + problem
                    valid = outcome.ok and not problem
                    if valid and phase == "apply2" and outcome.changed:
                        problem = f"not idempotent: {outcome.changed} change(s)"
                    if valid and phase == "apply" and outcome.changed == 0:
                        problem = "changed nothing on a first apply"
                    records.append(
                        {
                            "size": size,
                            "kind": kind,
                            "run": run,
                            "tool": tool,
                            "phase": phase,
                            "seconds": round(outcome.seconds, 3),
                            "cpu_seconds": None if outcome.cpu_s is None else round(outcome.cpu_s, 3),
                            "busy_core_seconds": round(busy, 3),
                            "valid": valid,
                            "exit_code": outcome.exit_code,
                            "changed": outcome.changed,
                            "problem": problem,
                            "output": outcome.output,
                        }
                    )
                    status = "ok" if valid else "INVALID"
                    extra = f" ({problem})" if problem else ""
                    changes = "" if outcome.changed is None else f", {outcome.changed} change(s)"
                    emit(f"[bench]   {tool:<10} {phase:<6} {outcome.seconds:7.2f} s  {status}{changes}{extra}")
    finally:
        bench.cold()


def main() -> int:
    return bench(sys.argv[1:])


def bench(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="3,10,25", help="comma-separated cluster sizes (default: %(default)s)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, of %(default)s")
    parser.add_argument("--runs", type=int, default=1, help="runs of every tool per size (default: %(default)s)")
    parser.add_argument(
        "--fleet", default="", help="comma-separated fleet sizes: lightweight hosts (sshd, no systemd) instead"
    )
    parser.add_argument(
        "--ansible-most",
        type=int,
        default=100,
        help="largest fleet Ansible runs on (forks = hosts; 250 forks swamp two cores; default: %(default)s)",
    )
    parser.add_argument("--profile", action="store_true", help="on a fleet, profile one more custom apply")
    args = parser.parse_args(argv)
    fleets = [int(s) for s in args.fleet.split(",") if s.strip()]
    sizes = [] if fleets else [int(s) for s in args.sizes.split(",") if s.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown or not tools or not (sizes or fleets) or min(sizes or fleets) < 3 or args.runs < 1:
        parser.error(f"tools are {', '.join(TOOLS)}; sizes at least 3; runs at least 1")
    for tool, program in (("ansible", "ansible-playbook"), ("pyinfra", "pyinfra")):
        if tool in tools and not (BIN / program).exists():
            parser.error(f"{tool} is not installed in {BIN}: pip install -e '.[dev,bench]'")
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "sizes": sizes,
        "tools": tools,
        "runs_per_size": args.runs,
        "notes": list(NOTES),
        "commands": {
            "custom": "orka.runner.run_taskfile(cluster.inventory(), parse_taskfile(...)) in this process",
            "custom-cli": "python -m orka run TASKS --inventory INVENTORY.yml --json",
            "ansible": "ansible all -i HOSTS -m ping; ansible-playbook -i HOSTS playbook.yml",
            "pyinfra": "pyinfra -y --parallel N --sudo INVENTORY.py exec -- true; pyinfra -y --parallel N INVENTORY.py"
            " deploy.py",
        },
        "bring_up_s": {},
        "fleets": {},
        "records": [],
        "summary": {},
    }
    records: list[dict[str, Any]] = report["records"]
    out = REPO_ROOT / "reports" / "bench_methods.json"
    out.parent.mkdir(exist_ok=True)
    try:
        for size in sizes:
            report["bring_up_s"][str(size)] = round(measure_size(size, tools, args.runs, records), 1)
            report["summary"][str(size)] = print_table(records, size, tools, args.runs)
        for size in fleets:
            here = [t for t in tools if t != "ansible" or size <= args.ansible_most]
            if here != tools:
                emit(f"[bench] {size} hosts: ansible not run (more than --ansible-most {args.ansible_most})")
            report["fleets"][str(size)] = measure_fleet(size, here, args.runs, records, args.profile)
            report["summary"][f"fleet-{size}"] = print_table(records, size, here, args.runs, kind="fleet hosts")
            report["fleets"][str(size)]["targets"] = fleet_targets(report["summary"][f"fleet-{size}"])
    finally:
        report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

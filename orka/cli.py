"""`orka`: bring a cluster up, look at it, tear it down, by hand."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

from orka import methods, secrets
from orka.config.preflight import check_files
from orka.config.scenario import Scenario, load_scenario
from orka.config.settings import Settings, load_settings, resolve_settings_path
from orka.errors import OrkaError
from orka.plan.layout import CLUSTER_NAME, DEFAULT_CLUSTER_NAME, default_cluster_name
from orka.progress import to_stderr
from orka.secrets import RedactingStream

# orka.providers and orka.runner (testinfra, asyncssh) take a second to import:
# each command imports them itself, once its input is checked, so that bad
# input is refused at once.
if TYPE_CHECKING:
    from orka.providers.base import Cluster
    from orka.results.record import PhaseResult, PhaseVerdict


def load_from_args(args: argparse.Namespace) -> Settings:
    path = resolve_settings_path(args.settings, os.environ)
    overrides: dict[str, object] = {"cluster": args.cluster_size, "provider": args.provider}
    if getattr(args, "platform", None):
        overrides["platforms"] = [args.platform]
    if getattr(args, "scenario", None):
        overrides["scenarios"] = [str(Path(p).resolve()) for p in args.scenario]
    return load_settings(path, overrides)


def cmd_up(args: argparse.Namespace) -> int:
    settings = check_files(load_from_args(args))
    from orka.providers.lifecycle import started

    with started(settings, name=args.name, keep=True, emit=to_stderr) as cluster:
        print_status(cluster)
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """What the Vagrantfile runs by hand: the plan of the default cluster, made ready."""
    settings = check_files(load_from_args(args))
    from orka.plan.state import ClusterPaths, read_spec, write_spec
    from orka.providers import cluster_for
    from orka.providers.lifecycle import prepare

    paths = ClusterPaths.for_name(args.name)
    kept = read_spec(paths)
    if kept is not None and cluster_for(kept, settings.timeouts, to_stderr).exists():
        # Even with a machine stopped: the plan must go on naming every machine.
        to_stderr(f"[orka] cluster {args.name} exists: using its plan (`orka down` to change it)")
    else:
        write_spec(prepare(settings, args.name, to_stderr), paths)
    print(paths.spec_file)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_from_args(args)
    from orka.plan.state import STATE_ROOT, ClusterPaths, read_spec
    from orka.providers import cluster_for

    clusters = sorted(p.name for p in (STATE_ROOT / "clusters").glob("*") if (p / "spec.json").exists())
    if not clusters:
        print("no orka cluster here")
    for name in clusters:
        spec = read_spec(ClusterPaths.for_name(name))
        assert spec is not None
        print_status(cluster_for(spec, settings.timeouts, to_stderr))
    return 0


def print_status(cluster: Cluster) -> None:
    spec = cluster.spec
    print(f"cluster {spec.name}: provider {spec.provider}, network {spec.subnet}")
    states = cluster.machine_states()
    for machine in spec.machines:
        role = "node (primary)" if machine.primary else machine.role
        print(f"  {machine.name:<16} {machine.ip:<15} {role:<16} {states.get(machine.name, 'unknown')}")


def cmd_down(args: argparse.Namespace) -> int:
    """Remove one cluster (--name) or every one on this machine (--all), and say what there was."""
    settings = load_from_args(args)
    from orka.providers import down
    from orka.providers.docker import remove_docker_leftovers

    names = down.names_here() if args.all else [args.name]
    for name in names:
        removed = down.remove(name, settings.timeouts, to_stderr)
        print(f"cluster {name}: removed {removed.describe()}" if removed else f"cluster {name}: nothing here")
    if args.all:
        # Labelled objects whose label names no cluster orka could name (a hand-made one, say).
        others = remove_docker_leftovers(None)
        print(f"removed {others} more labelled containers and networks" if others else "nothing else left")
    return 0


# -- iterating on a scenario, as Molecule's users do: converge, idempotence, verify, login, destroy --------


def _one_scenario(args: argparse.Namespace) -> tuple[Settings, Scenario]:
    settings = check_files(load_from_args(args))
    if len(settings.scenarios) > 1 and not args.scenario:
        names = ", ".join(s.name for s in settings.scenarios)
        raise OrkaError(f"the settings name several scenarios ({names}): give one with --scenario PATH")
    return settings, settings.scenarios[0]


def _kept(args: argparse.Namespace, scenario: Scenario) -> str:
    """The method of the kept cluster --name, which must hold this scenario (`orka converge` made it)."""
    from orka.plan.state import ClusterPaths, read_spec

    spec = read_spec(ClusterPaths.for_name(args.name))
    if spec is None:
        raise OrkaError(f"no cluster {args.name} here: make one with `orka converge METHOD`")
    if spec.scenario != scenario.name:
        raise OrkaError(
            f"cluster {args.name} holds scenario {spec.scenario}, not {scenario.name}: give --scenario its folder, "
            "or `orka destroy` it first"
        )
    return spec.methods[0]


def _converged(args: argparse.Namespace, method: str, phases: tuple[str, ...]) -> int:
    """Run phases of the method on the kept cluster (brought up first if there is none); print each verdict."""
    verdicts = _on_kept_cluster(args, method, phases)
    for phase, (verdict, _) in verdicts.items():
        word = verdict.skipped or ("ok" if verdict.ok else "FAILED")
        print(f"{method} {phase}: {word}")
        for reason in verdict.reasons():
            print(f"  {reason}")
    return 0 if all(v.ok or v.skipped for v, _ in verdicts.values()) else 1


def _on_kept_cluster(
    args: argparse.Namespace, method: str, phases: tuple[str, ...]
) -> dict[str, tuple[PhaseVerdict, PhaseResult]]:
    """Each phase's verdict and result, run by the method on the kept cluster (brought up if there is none)."""
    import dataclasses

    from orka.methods.base import load_method
    from orka.plan.state import ClusterPaths, read_spec
    from orka.providers.lifecycle import started
    from orka.results.record import RunContext
    from orka.spike import Spike

    settings, scenario = _one_scenario(args)
    if method not in scenario.methods:
        raise OrkaError(f"{scenario.name} has no {method}/ folder ({scenario.path}): the method is not written there")
    kept = read_spec(ClusterPaths.for_name(args.name))
    if kept is not None and (kept.methods, kept.scenario) != ((method,), scenario.name):
        raise OrkaError(
            f"cluster {args.name} holds {kept.scenario} for {', '.join(kept.methods)}: `orka destroy` it first, "
            "or give --name another"
        )
    settings = dataclasses.replace(settings, methods=(method,), scenarios=(scenario,))
    paths = ClusterPaths.for_name(args.name)
    secrets.declare_all(scenario.secret_vars(), f"{scenario.name}'s vars")
    with started(settings, name=args.name, keep=True, reuse=True, emit=to_stderr) as cluster:
        driver = load_method(method)(cluster, settings.timeouts.command_s, scenario)
        to_stderr(f"[orka] {method}: every node ready to drive after {driver.wait_ready():.1f} s")
        secrets.declare_all_pairs(driver.secrets(), f"{scenario.name}/{method}")
        context = RunContext("cli", len(cluster.nodes), cluster.spec.provider, driver.version(), scenario=scenario.name)
        spike = Spike(driver, scenario, cluster, context, paths.state_dir / "results.json", to_stderr)
        return {phase: (spike.run(phase), spike.done[phase]) for phase in phases}


def cmd_converge(args: argparse.Namespace) -> int:
    """Apply the scenario's desired state with a method (and its orchestration), on a kept cluster."""
    return _converged(args, args.method, ("apply", "orchestrate"))


def cmd_idempotence(args: argparse.Namespace) -> int:
    """Apply again on the kept cluster: nothing may change."""
    _, scenario = _one_scenario(args)
    return _converged(args, _kept(args, scenario), ("idempotence",))


DRIFTED = 3  # `orka check`'s exit when a node drifted (2 is a usage error, 1 a failure)


def cmd_check(args: argparse.Namespace) -> int:
    """The method's own dry run on the kept cluster: which nodes drifted from the desired state, and what the
    tool would change there (exit 0 in sync, 3 drifted, 1 the dry run failed; 2 is bad input, as everywhere)."""
    _, scenario = _one_scenario(args)
    method = _kept(args, scenario)
    ((verdict, result),) = _on_kept_cluster(args, method, ("check",)).values()
    for host in result.hosts:
        shown = host.detail if host.changed or host.failed else "in sync"
        print(f"{host.node}: {shown}")
    if not verdict.ok:
        for reason in verdict.reasons():
            print(f"  {reason}")
        return 1
    return DRIFTED if any(host.changed for host in result.hosts) else 0


def cmd_verify(args: argparse.Namespace) -> int:
    """The scenario's checks (verify/) on the kept cluster as it is, through pytest, reports in its state folder."""
    import subprocess

    from orka.config import REPO_ROOT
    from orka.plan.state import ClusterPaths

    _, scenario = _one_scenario(args)
    method = _kept(args, scenario)
    if scenario.checks is None:
        raise OrkaError(f"{scenario.name} has no checks: write verify/test_*.py in {scenario.path}")
    reports = ClusterPaths.for_name(args.name).state_dir / "reports"
    command = [sys.executable, "-m", "pytest", str(scenario.checks), "--scenario", str(scenario.path)]
    command += ["--cluster-name", args.name, "--reuse-cluster", "--keep-cluster", "--verify-only", "-m", method]
    command += ["-p", "no:cacheprovider", "--results", str(reports / "results.json")]
    if args.settings:
        command += ["--settings", args.settings]
    if args.platform:
        command += ["--platform", args.platform]
    environment = {**os.environ, "ORKA_REPORTS": str(reports)}
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, check=False).returncode


def cmd_login(args: argparse.Namespace) -> int:
    """A shell (or the command given after the machine) on a machine of the kept cluster, over orka's SSH
    config."""
    from orka.plan.state import ClusterPaths, read_spec

    paths = ClusterPaths.for_name(args.name)
    spec = read_spec(paths)
    if spec is None:
        raise OrkaError(f"no cluster {args.name} here: make one with `orka converge METHOD` or `orka up`")
    machines = [m.name for m in spec.machines]
    if args.machine not in machines:
        raise OrkaError(f"cluster {args.name} has no machine {args.machine}; it has {', '.join(machines)}")
    os.execvp("ssh", ["ssh", "-F", str(paths.ssh_config), args.machine, *args.remote])
    return 0  # not reached: ssh replaced this process


def cmd_init(args: argparse.Namespace) -> int:
    """A scenario skeleton: one file made the same by each method, and its check, green as it is."""
    from orka.scaffold import write_scenario

    print(write_scenario(args.scenario_name, Path(args.path) if args.path else None))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """orka's task runner, as a build plan calls it: exit 1 when any host failed."""
    from orka.methods.custom import DESCRIPTOR as RUNNER  # `orka run` is the custom method's tool
    from orka.plan.state import ClusterPaths, read_spec
    from orka.providers import cluster_for
    from orka.runner import load_inventory, load_taskfile, run_taskfile
    from orka.runner.inventory import check_targets

    taskfile = load_taskfile(Path(args.tasks))
    if args.inventory == "cluster":
        spec = read_spec(ClusterPaths.for_name(args.name))
        if spec is None:
            raise OrkaError(f"no cluster {args.name} here: bring one up with `orka up`, or give an inventory file")
        inventory = cluster_for(spec, load_from_args(args).timeouts, to_stderr).inventory(RUNNER.name)
        scenario, _ = load_scenario(Path(spec.scenario_path)) if spec.scenario_path else (None, [])
        inventory = inventory.with_vars(scenario.vars if scenario else {})  # the cluster's scenario's vars
    else:
        inventory = load_inventory(Path(args.inventory))
    check_targets(inventory, taskfile, tuple(args.limit))  # before any SSH
    # The task file's secret vars: never in what the runner prints (a build log keeps it).
    marked = [name for name in taskfile.secrets if name in inventory.vars]
    secrets.declare_all({name: inventory.vars[name] for name in marked}, taskfile.source)
    report = run_taskfile(inventory, taskfile, check=args.check, timeout=args.timeout, limit=tuple(args.limit))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0 if report.ok else 1
    verb = "would change" if args.check else "changed"
    for name, runs in report.steps:
        print(f"step {name}:")
        for run in runs:
            if run.error:
                print(f"  {run.host}: FAILED: {run.error}")
            elif run.failed:
                print(f"  {run.host}: FAILED: " + "; ".join(f"{t.task}: {t.msg}" for t in run.failed))
            elif run.changed:
                print(f"  {run.host}: {verb} {', '.join(run.changed)}")
            else:
                print(f"  {run.host}: ok, nothing to change")
    failed = sum(not run.ok for run in report.runs())
    print(f"{len(report.runs()) - failed} ok, {failed} failed in {report.duration_s:.1f} s")
    return 0 if report.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    """The comparison page of the spikes' results; the report module is imported here, as matplotlib is slow to load."""
    from orka.config import REPO_ROOT
    from orka.report.page import render_comparison

    results = Path(args.results) if args.results else REPO_ROOT / "reports" / "results.json"
    out = Path(args.out) if args.out else REPO_ROOT / "reports" / "comparison.html"
    print(render_comparison(results, out))
    return 0


def seconds(text: str) -> float:
    """A time limit given on the command line: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0, e.g. 300")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orka", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--settings", help="settings file (default: ORKA_SETTINGS or settings/user_settings.yaml)")
    common.add_argument("--cluster-size", type=int, help="number of nodes (overrides settings: cluster)")
    common.add_argument("--provider", help="auto, docker, virtualbox or libvirt (overrides settings: provider)")
    common.add_argument("--platform", metavar="NAME", help="the nodes' OS release (overrides settings: platforms)")
    common.add_argument(
        "--name", default=default_cluster_name(), help="cluster name (default: ORKA_CLUSTER's, else orka)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", parents=[common], help="bring a cluster up and keep it").set_defaults(func=cmd_up)
    commands.add_parser("status", parents=[common], help="show orka's clusters").set_defaults(func=cmd_status)
    down = commands.add_parser("down", parents=[common], help="destroy a cluster")
    down.add_argument("--all", action="store_true", help="remove every cluster and anything orka left behind")
    down.set_defaults(func=cmd_down)
    destroy = commands.add_parser("destroy", parents=[common], help="destroy the kept cluster (`orka down --name`)")
    destroy.set_defaults(func=cmd_down, all=False)
    scenario = argparse.ArgumentParser(add_help=False)
    scenario.add_argument(
        "--scenario", action="append", metavar="PATH", help="the scenario folder (default: settings: scenarios)"
    )
    converge = commands.add_parser(
        "converge", parents=[common, scenario], help="apply a scenario with a method on a kept cluster"
    )
    converge.add_argument("method", help=", ".join(methods.names()))
    converge.set_defaults(func=cmd_converge)
    for verb, func, text in (
        ("idempotence", cmd_idempotence, "apply again on the kept cluster: nothing may change"),
        ("check", cmd_check, "the method's dry run on the kept cluster: what drifted (exit 3), changing nothing"),
        ("verify", cmd_verify, "run the scenario's checks on the kept cluster as it is"),
    ):
        commands.add_parser(verb, parents=[common, scenario], help=text).set_defaults(func=func)
    login = commands.add_parser(
        "login", parents=[common], help="a shell on a machine of the kept cluster, or `-- COMMAND` run there"
    )
    login.add_argument("machine", help="e.g. orka-node-1")
    login.set_defaults(remote=[])  # the words after `--`: a command to run instead of a shell
    login.set_defaults(func=cmd_login)
    init = commands.add_parser("init", help="write a scenario skeleton (a folder per method, and verify/)")
    init.add_argument("scenario_name", metavar="NAME", help="its name: lower-case letters, digits, '-', '_'")
    init.add_argument("--path", help="the folder to write (default: spikes/NAME)")
    init.set_defaults(func=cmd_init, name=DEFAULT_CLUSTER_NAME)
    run = commands.add_parser("run", parents=[common], help="run a task file on servers (orka's task runner)")
    run.add_argument("tasks", help="task file (YAML: tasks or steps)")
    run.add_argument("--inventory", required=True, help="inventory YAML file, or `cluster` for this orka cluster")
    run.add_argument("--check", action="store_true", help="dry run: say what would change, change nothing")
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    run.add_argument("--timeout", type=seconds, default=300, help="seconds per host and step (default: %(default)s)")
    run.add_argument("--limit", nargs="+", default=["all"], help="only these hosts or groups")
    run.set_defaults(func=cmd_run)
    prep = commands.add_parser("prepare", parents=[common], help="prepare a cluster's plan (the Vagrantfile runs this)")
    prep.add_argument("--print-spec-path", action="store_true", help="print the plan's path (the default)")
    prep.set_defaults(func=cmd_prepare)
    report = commands.add_parser("report", help="write the comparison page of the spikes' results")
    report.add_argument("--results", help="results to read (default: reports/results.json of this repository)")
    report.add_argument("--out", help="page to write (default: reports/comparison.html of this repository)")
    report.set_defaults(func=cmd_report, name=DEFAULT_CLUSTER_NAME)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    # `orka login MACHINE [options] -- COMMAND...`: what follows `--` is the machine's, never orka's options.
    remote = words[words.index("--") + 1 :] if "--" in words else []
    args = parser.parse_args(words[: len(words) - len(remote) - 1] if "--" in words else words)
    if remote and args.func is not cmd_login:
        parser.error(f"`-- {' '.join(remote)}`: only `orka login MACHINE -- COMMAND` takes a command")
    args.remote = remote
    if not CLUSTER_NAME.match(args.name):
        parser.error(f"--name {args.name!r}: use lower-case letters, digits and '-', at most 40 characters")
    # What a command prints holds no declared secret (a build log keeps it): orka run's task file's, a
    # converge's scenario's.
    with redirect_stdout(RedactingStream(sys.stdout)), redirect_stderr(RedactingStream(sys.stderr)):
        try:
            return int(args.func(args))
        except OrkaError as exc:
            print(f"orka: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("orka: interrupted", file=sys.stderr)
            return 130

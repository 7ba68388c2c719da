"""`orka`: bring a cluster up, look at it, tear it down, by hand."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from orka.config.preflight import check_files
from orka.config.settings import Settings, load_settings, resolve_settings_path
from orka.errors import OrkaError
from orka.plan.layout import CLUSTER_NAME, DEFAULT_CLUSTER_NAME
from orka.progress import to_stderr

# orka.providers and orka.runner (testinfra, asyncssh) take a second to import:
# each command imports them itself, once its input is checked, so that bad
# input is refused at once.
if TYPE_CHECKING:
    from orka.providers.base import Cluster


def load_from_args(args: argparse.Namespace) -> Settings:
    path = resolve_settings_path(args.settings, os.environ)
    return load_settings(path, {"cluster": args.cluster_size, "provider": args.provider})


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
    else:
        inventory = load_inventory(Path(args.inventory))
    check_targets(inventory, taskfile, tuple(args.limit))  # before any SSH
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
    common.add_argument("--name", default=DEFAULT_CLUSTER_NAME, help="cluster name (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", parents=[common], help="bring a cluster up and keep it").set_defaults(func=cmd_up)
    commands.add_parser("status", parents=[common], help="show orka's clusters").set_defaults(func=cmd_status)
    down = commands.add_parser("down", parents=[common], help="destroy a cluster")
    down.add_argument("--all", action="store_true", help="remove every cluster and anything orka left behind")
    down.set_defaults(func=cmd_down)
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
    args = parser.parse_args(argv)
    if not CLUSTER_NAME.match(args.name):
        parser.error(f"--name {args.name!r}: use lower-case letters, digits and '-', at most 40 characters")
    try:
        return int(args.func(args))
    except OrkaError as exc:
        print(f"orka: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("orka: interrupted", file=sys.stderr)
        return 130

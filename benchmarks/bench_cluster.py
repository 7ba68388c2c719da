"""How long the cluster takes: prepare, up, ready, each method's tool answering, destroy; warm and cold.

    python benchmarks/bench_cluster.py                 # warm, 3 runs, master + 3 nodes
    python benchmarks/bench_cluster.py --runs 5        # the speed issue's Salt target: every one of 5 runs
    python benchmarks/bench_cluster.py --cold          # first drop the node image and the wheelhouse
    python benchmarks/bench_cluster.py --nodes 25 --runs 1

"ready" is every machine reachable by SSH; "<method> answering" is then the
method's own readiness wait, as a spike's (Salt: every minion answering
test.ping). Prints a table, the speed issue's targets for what it measured
(master + 3 nodes up and ready within 8 s, 25 nodes within 40 s; Salt's
minions answering within 3 s of the nodes being up in every run), and writes
reports/bench_cluster.json. A script, not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import CORES, busy_core_seconds, cores_busy  # beside this script

from orka.config import REPO_ROOT
from orka.config.settings import load_settings
from orka.methods.base import load_method
from orka.plan.state import CACHE_ROOT, WHEELHOUSE_PINS, write_spec
from orka.plan.wheelhouse import wheelhouse_dir
from orka.providers import cluster_for
from orka.providers.docker import image_tag
from orka.providers.lifecycle import prepare

PHASES = ("prepare", "up", "ready", "up+ready", "destroy")
# The speed issue's targets: warm bring-up (up+ready) by node count, and Salt's minions answering.
BRING_UP_WITHIN_S = {3: 8.0, 25: 40.0}
SALT_ANSWERS_WITHIN_S = 3.0
BUSY = "busy core-s"  # the machine's, every process (the containers' too), while it came up and got ready


def answering(method: str) -> str:
    return f"{method} answering"


def one_run(nodes: int, methods: list[str], quiet: bool) -> dict[str, float]:
    settings = load_settings(None, {"cluster": nodes, "provider": "docker", "methods": methods})

    def emit(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    times: dict[str, float] = {}
    start = time.monotonic()
    spec = prepare(settings, "orka-bench", emit)
    cluster = cluster_for(spec, settings.timeouts, emit)
    write_spec(spec, cluster.paths)
    times["prepare"] = time.monotonic() - start
    try:
        start, busy_before = time.monotonic(), busy_core_seconds()
        cluster.up()
        times["up"] = time.monotonic() - start
        start = time.monotonic()
        cluster.wait_ready()
        times["ready"] = time.monotonic() - start
        times["up+ready"] = times["up"] + times["ready"]
        times[BUSY] = busy_core_seconds() - busy_before
        for method in methods:
            driver = load_method(method)(cluster, settings.timeouts.command_s, settings.scenarios[0])
            times[answering(method)] = driver.wait_ready()
            if driver.last_probe is not None and not driver.last_probe.ok:
                raise SystemExit(f"bench: {method} never answered: {'; '.join(driver.last_probe.problems())}")
    finally:
        start = time.monotonic()
        cluster.destroy()
        times["destroy"] = time.monotonic() - start
    return times


def targets(warm: list[dict[str, float]], nodes: int, masters: int, methods: list[str]) -> list[str]:
    """The speed issue's targets this run measured, each met or not."""
    lines = []
    within = BRING_UP_WITHIN_S.get(nodes)
    if warm and within is not None and masters == 1:
        median = statistics.median(r["up+ready"] for r in warm)
        met = "met" if median <= within else "not met"
        lines.append(f"  [{met}] warm bring-up of a master and {nodes} nodes within {within:.0f} s: {median:.1f} s")
    if warm and "salt" in methods:
        slowest = max(r[answering("salt")] for r in warm)
        met = "met" if slowest <= SALT_ANSWERS_WITHIN_S else "not met"
        lines.append(
            f"  [{met}] Salt's minions answer within {SALT_ANSWERS_WITHIN_S:.0f} s of the nodes being up in every "
            f"one of {len(warm)} runs: at most {slowest:.1f} s"
        )
    return lines


def drop_caches() -> None:
    settings = load_settings(None, {"provider": "docker"})
    tag = image_tag(settings.image_recipe, settings.platform.suite)
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
    shutil.rmtree(wheelhouse_dir(WHEELHOUSE_PINS, CACHE_ROOT / "wheelhouse", settings.platform), ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--methods", default="salt", help="comma-separated; decides the masters (default: salt)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the node image and wheelhouse before the first run")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    methods = args.methods.split(",")
    runs = []
    for index in range(args.runs):
        cold = args.cold and index == 0
        if cold:
            drop_caches()
        times = one_run(args.nodes, methods, args.quiet)
        times["cold"] = float(cold)
        runs.append(times)
        shown = [p for p in times if p not in ("cold", BUSY)]
        print(
            f"run {index + 1}{' (cold)' if cold else ''}: "
            + ", ".join(f"{p} {times[p]:.1f} s" for p in shown)
            + f"; the machine's {CORES} cores {cores_busy(times[BUSY], times['up+ready']):.0%} busy up to ready"
            + f" ({times[BUSY]:.1f} core-s: at least {times[BUSY] / CORES:.1f} s of wall here)"
        )
    warm = [r for r in runs if not r["cold"]]
    masters = sum(m in methods for m in ("salt", "ansible"))
    print(f"\n{masters} master(s) + {args.nodes} nodes, docker provider, {len(warm)} warm run(s)")
    for phase in (*PHASES, *(answering(m) for m in methods)):
        values = [r[phase] for r in warm]
        if values:
            median = statistics.median(values)
            print(f"  {phase:<15} median {median:6.1f} s   min {min(values):6.1f} s   max {max(values):6.1f} s")
    cold_runs = [r for r in runs if r["cold"]]
    if cold_runs:
        total = sum(cold_runs[0][p] for p in ("prepare", "up", "ready"))
        print(f"  cold: prepare (image + wheelhouse) {cold_runs[0]['prepare']:.1f} s, to ready {total:.1f} s")
    for line in targets(warm, args.nodes, masters, methods):
        print(line)
    out = REPO_ROOT / "reports" / "bench_cluster.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"nodes": args.nodes, "methods": methods, "cores": CORES, "runs": runs}, indent=2) + "\n")
    print(f"written: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

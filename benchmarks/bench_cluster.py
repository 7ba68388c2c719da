"""How long the cluster takes: prepare, up, ready, destroy; warm and cold.

    python benchmarks/bench_cluster.py                 # warm, 3 runs, master + 3 nodes
    python benchmarks/bench_cluster.py --cold          # first drop the node image and the wheelhouse
    python benchmarks/bench_cluster.py --nodes 10 --runs 1

Prints a table and writes reports/bench_cluster.json. A script, not a test:
it measures, it asserts nothing.
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

from orka.config import REPO_ROOT
from orka.config.settings import load_settings
from orka.plan.state import CACHE_ROOT, WHEELHOUSE_PINS, write_spec
from orka.plan.wheelhouse import wheelhouse_dir
from orka.providers import cluster_for
from orka.providers.docker import image_tag
from orka.providers.lifecycle import prepare

PHASES = ("prepare", "up", "ready", "up+ready", "destroy")


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
        start = time.monotonic()
        cluster.up()
        times["up"] = time.monotonic() - start
        start = time.monotonic()
        cluster.wait_ready()
        times["ready"] = time.monotonic() - start
        times["up+ready"] = times["up"] + times["ready"]
    finally:
        start = time.monotonic()
        cluster.destroy()
        times["destroy"] = time.monotonic() - start
    return times


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
        print(f"run {index + 1}{' (cold)' if cold else ''}: " + ", ".join(f"{p} {times[p]:.1f} s" for p in PHASES))
    warm = [r for r in runs if not r["cold"]]
    masters = sum(m in methods for m in ("salt", "ansible"))
    print(f"\n{masters} master(s) + {args.nodes} nodes, docker provider, {len(warm)} warm run(s)")
    for phase in PHASES:
        values = [r[phase] for r in warm]
        if values:
            median = statistics.median(values)
            print(f"  {phase:<9} median {median:6.1f} s   min {min(values):6.1f} s   max {max(values):6.1f} s")
    cold_runs = [r for r in runs if r["cold"]]
    if cold_runs:
        total = sum(cold_runs[0][p] for p in ("prepare", "up", "ready"))
        print(f"  cold: prepare (image + wheelhouse) {cold_runs[0]['prepare']:.1f} s, to ready {total:.1f} s")
    out = REPO_ROOT / "reports" / "bench_cluster.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"nodes": args.nodes, "methods": methods, "runs": runs}, indent=2) + "\n")
    print(f"written: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where a spike run's time goes: the tools' own phases against the harness's parts, and orka against Molecule.

    python benchmarks/bench_spike.py                     # one serial `pytest spikes/`, -n 3, Molecule
    python benchmarks/bench_spike.py --runs 5            # five serial runs (Salt's readiness in each)
    python benchmarks/bench_spike.py --skip-molecule --skip-parallel

Each run is a real `pytest spikes/` of this checkout (the default scenario, every
method, cluster `orka-bench-spike`, reports to a folder of its own), its output
shown as it goes. From the run's results.json (the tools' phases: ping, apply,
idempotence, orchestrate, and the drift phase's dry run and repair) and timings.jsonl (orka.timings: bring-up, the tool
answering, the up record's facts, phase tests' own time, hand commands, verify,
teardown, reports) it prints, per method, the tools' time and the harness's split
by part; what no span covers (pytest's start, collection, preflight) is "rest".

Then, in the same run: `pytest spikes/ -n 3` against the serial run, and
Molecule (`molecule test`, docker driver, three containers of orka's node image,
from PyPI in a venv of its own: benchmarks/molecule_rival.py) against orka on
the same four tasks as a scenario (benchmarks/four_tasks, `pytest spikes/ -m
ansible`, with its checks). Each target of issue #16 is printed as met or not.

A script, not a test: it measures and asserts nothing. Writes reports/bench_spike.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import CORES, busy_core_seconds, cores_busy  # beside this script

from orka.config import REPO_ROOT
from orka.results.store import read_records
from orka.timings import (
    BRING_UP,
    FACTS,
    HAND_COMMANDS,
    PHASE_TESTS,
    READINESS,
    REPORTS,
    TEARDOWN,
    VERIFY,
    read_spans,
    timings_path,
    totals,
)

TOOL_PHASES = ("ping", "apply", "idempotence", "orchestrate")
CLUSTER = "orka-bench-spike"
OUT = REPO_ROOT / "reports" / "bench_spike.json"
FOUR_TASKS = REPO_ROOT / "benchmarks" / "four_tasks"
COLUMNS = ("tools", BRING_UP, READINESS, FACTS, "phase tests' own", HAND_COMMANDS, VERIFY, TEARDOWN)
HEADINGS = ("tools", "bring-up", "tool ready", "facts, fresh", "phase tests", "hand commands", "verify", "teardown")


@dataclass
class Run:
    """One `pytest spikes/`: its wall time, and per method the tools' seconds and each harness part's."""

    wall_s: float
    busy_core_s: float  # this machine's, every process (the containers' too), while the run ran
    passed: bool
    methods: dict[str, dict[str, float]] = field(default_factory=dict)
    run_parts: dict[str, float] = field(default_factory=dict)  # the run's own: reports, rest
    checks: dict[str, int] = field(default_factory=dict)

    @property
    def tools_s(self) -> float:
        return sum(m["tools"] for m in self.methods.values())

    @property
    def cores_busy(self) -> float:
        """How busy the machine's cores were through the run, 0 to 1."""
        return cores_busy(self.busy_core_s, self.wall_s)

    @property
    def harness_share(self) -> float:
        return 1 - self.tools_s / self.wall_s if self.wall_s else 0.0


def pytest_spikes(*args: str, label: str) -> tuple[float, float, bool, Path]:
    """Run `pytest spikes/ ARGS` as a user does, reports to a fresh folder; its wall time, the machine's busy
    core-seconds meanwhile, its result and its folder."""
    reports = Path(tempfile.mkdtemp(prefix=f"orka-bench-{label}-"))
    command = [sys.executable, "-m", "pytest", "spikes/", "-p", "no:cacheprovider", "--cluster-name", CLUSTER]
    command += ["--results", str(reports / "results.json"), *args]
    print(f"[bench] {label}: {' '.join(command[2:])}", file=sys.stderr, flush=True)
    start, busy_before = time.monotonic(), busy_core_seconds()
    done = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, "ORKA_REPORTS": str(reports)}, check=False)
    wall, busy = time.monotonic() - start, busy_core_seconds() - busy_before
    print(f"[bench] {label}: {'passed' if done.returncode == 0 else 'FAILED'} in {wall:.1f} s", file=sys.stderr)
    return wall, busy, done.returncode == 0, reports


def drift_tools_s(records: list[dict[str, Any]], method: str) -> float:
    """The tool's part of the drift phase, its dry run and its repair (the rest is orka's edits and fingerprints)."""
    for record in records:
        facts = record.get("facts") or {}
        if record["method"] == method and record["phase"] == "drift" and "dry_run_s" in facts:
            return float(facts["dry_run_s"]) + float(facts.get("repair_s", 0.0))
    return 0.0


def split(wall_s: float, busy_core_s: float, passed: bool, reports: Path) -> Run:
    """The run's time, per method: the tools' phases (results.json) and the harness's parts (timings.jsonl)."""
    records = read_records(reports / "results.json")
    spent = totals(read_spans(timings_path(reports / "results.json")))
    run = Run(wall_s, busy_core_s, passed)
    for method in sorted({r["method"] for r in records}):
        whole = [r for r in records if r["method"] == method and r["node"] is None]
        tools = sum(r["duration_s"] for r in whole if r["phase"] in TOOL_PHASES)
        tools += drift_tools_s(records, method)
        parts = {part: spent.get((method, part), 0.0) for part in (BRING_UP, READINESS, FACTS)}
        parts["phase tests' own"] = max(0.0, spent.get((method, PHASE_TESTS), 0.0) - tools)
        parts |= {part: spent.get((method, part), 0.0) for part in (HAND_COMMANDS, VERIFY, TEARDOWN)}
        run.methods[method] = {"tools": tools, **parts}
        run.checks[method] = sum(1 for r in records if r["method"] == method and r["phase"] == "verify" and r["node"])
    run.run_parts[REPORTS] = spent.get(("", REPORTS), 0.0)
    accounted = sum(sum(m.values()) for m in run.methods.values()) + run.run_parts[REPORTS]
    run.run_parts["rest"] = max(0.0, wall_s - accounted)
    return run


def print_run(run: Run, label: str, side_by_side: bool = False) -> None:
    print(f"\n{label}: {run.wall_s:.1f} s wall, {'passed' if run.passed else 'FAILED'}")
    print(f"  this machine's {CORES} cores {run.cores_busy:.0%} busy: {run.busy_core_s:.1f} core-s of work")
    print(f"  {'method':<9}" + "".join(f"{h:>15}" for h in HEADINGS))
    for method, parts in run.methods.items():
        print(f"  {method:<9}" + "".join(f"{parts[c]:>13.1f} s" for c in COLUMNS))
    if side_by_side:  # the methods ran at once: their seconds overlap, and add up to more than the wall
        print("  (the methods side by side: each method's seconds overlap the others')")
        return
    extra = ", ".join(f"{part} {seconds:.1f} s" for part, seconds in run.run_parts.items())
    print(f"  the run's own: {extra}")
    print(f"  tools {run.tools_s:.1f} s of {run.wall_s:.1f} s: the harness's share {run.harness_share:.0%}")


def target(what: str, value: float, limit: float, unit: str = "s", passed: bool = True) -> dict[str, Any]:
    """One of the issue's targets, printed as met or not; a figure of a run that failed meets none."""
    met = passed and value <= limit
    shown = f"{value:.0%}" if unit == "%" else f"{value:.2f}{unit}"
    bound = f"{limit:.0%}" if unit == "%" else f"{limit:g}{unit}"
    failed = "" if passed else ", from a run that FAILED"
    print(f"  [{'met' if met else 'NOT met'}] {what}: {shown} (target at most {bound}{failed})")
    return {"target": what, "value": round(value, 3), "limit": limit, "met": met, "passed": passed}


def molecule_against_orka() -> dict[str, float]:
    """`molecule test` of the four tasks, then orka's `pytest spikes/ -m ansible` of them, in this run."""
    import molecule_rival  # beside this script

    bin_dir = molecule_rival.ensure_molecule_venv(REPO_ROOT / ".orka" / "bench" / "molecule-venv")
    busy_before = busy_core_seconds()
    molecule_s = molecule_rival.time_molecule_test(bin_dir, molecule_rival.node_image())
    molecule_busy = busy_core_seconds() - busy_before
    print(f"[bench] molecule test: {molecule_s:.1f} s", file=sys.stderr)
    orka_s, orka_busy, passed, _ = pytest_spikes("-m", "ansible", "--scenario", str(FOUR_TASKS), label="four-tasks")
    if not passed:
        raise SystemExit("bench: orka's run of benchmarks/four_tasks failed: see its output above")
    return {"molecule_s": molecule_s, "molecule_core_s": molecule_busy, "orka_s": orka_s, "orka_core_s": orka_busy}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="serial runs (default: %(default)s)")
    parser.add_argument("--skip-parallel", action="store_true", help="no `pytest spikes/ -n 3` run")
    parser.add_argument("--skip-molecule", action="store_true", help="no Molecule comparison")
    parser.add_argument("--platform", metavar="NAME", help="the nodes' OS release (default: the settings')")
    args = parser.parse_args(argv)
    chosen = ("--platform", args.platform) if args.platform else ()
    load = os.getloadavg()
    print(f"[bench] load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")

    serial = []
    for number in range(1, args.runs + 1):
        label = f"serial run {number} of {args.runs}"
        serial.append(split(*pytest_spikes(*chosen, label=f"serial-{number}")))
        print_run(serial[-1], label)
    parallel = None if args.skip_parallel else split(*pytest_spikes(*chosen, "-n", "3", label="parallel"))
    if parallel is not None:
        print_run(parallel, "pytest spikes/ -n 3", side_by_side=True)
    rival = None if args.skip_molecule else molecule_against_orka()

    print("\ntargets (issue #16):")
    best = min(serial, key=lambda r: r.wall_s)
    all_passed = all(r.passed for r in serial)
    met = [target("the harness's share of a serial run", max(r.harness_share for r in serial), 0.30, "%", all_passed)]
    for method, parts in best.methods.items():
        checks = best.checks.get(method, 0)
        met.append(target(f"{method} verify ({checks} checks)", parts[VERIFY], 2.0, passed=best.passed))
    if any("salt" in r.methods for r in serial):
        slowest = max(r.methods["salt"][READINESS] for r in serial if "salt" in r.methods)
        met.append(target(f"salt minions answer after the nodes are up, slowest of {len(serial)}", slowest, 3.0))
        met.append(
            target("bring-up of master + nodes (salt's)", best.methods["salt"][BRING_UP], 8.0, passed=best.passed)
        )
    if parallel is not None:
        ratio = parallel.wall_s / best.wall_s
        met.append(target("pytest spikes/ -n 3 against serial", ratio, 0.6, "x", parallel.passed and best.passed))
        # The serial run's work on every core at once, with nothing added for running side by side.
        floor = cores_busy(best.busy_core_s, best.wall_s)
        print(f"    the serial run's {best.busy_core_s:.0f} core-s on {CORES} cores: at best {floor:.2f}x here")
    if rival is not None:
        print(
            f"  molecule test {rival['molecule_s']:.1f} s ({rival['molecule_core_s']:.0f} core-s), "
            f"orka -m ansible {rival['orka_s']:.1f} s ({rival['orka_core_s']:.0f} core-s)"
        )
        met.append(target("orka against molecule test, four tasks", rival["orka_s"] / rival["molecule_s"], 0.6, "x"))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "load_average": load,
        "serial": [r.__dict__ for r in serial],
        "serial_wall_median_s": statistics.median(r.wall_s for r in serial),
        "parallel": parallel.__dict__ if parallel else None,
        "molecule": rival,
        "targets": met,
    }
    OUT.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"\n[bench] figures: {OUT}")
    return 0 if all(r.passed for r in serial) and (parallel is None or parallel.passed) else 1


if __name__ == "__main__":
    raise SystemExit(main())

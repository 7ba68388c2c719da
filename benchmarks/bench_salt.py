"""Salt at scale on orka's systemd nodes: N minions answering test.ping, then a highstate and a second one.

    python benchmarks/bench_salt.py --nodes 50
    python benchmarks/bench_salt.py --nodes 50 --worker-threads 12   # the master's MWorkers, re-tuned first
    python benchmarks/bench_salt.py --nodes 50 --batch 10            # highstates 10 minions at a time

One cluster (a Salt master and N nodes, docker provider, settings/scale.yaml's
timeouts, the example scenario's states) is brought up by orka as
`orka-bench-salt` and destroyed after. Measured, each once: bring-up (the
nodes up and ready), the minions answering test.ping after that (orka's own
readiness wait), `salt '*' test.ping`, `salt '*' state.apply` (highstate) and
a second one, with the master's view of every minion checked: a minion that
did not return within salt's timeouts fails its host. With --worker-threads
the master's worker_threads is set and salt-master restarted once every
minion has answered (timed apart, and the minions awaited again) before the
ping and highstates; without it the master runs as orka provisions it.

Prints the figures and issue #22's Salt targets as met or not, with the memory
and load average seen, and writes reports/bench_salt.json. A script, not a
test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import host_usage  # beside this script

from orka.config import REPO_ROOT
from orka.config.settings import load_settings
from orka.methods.salt.method import MASTER, NO_RETURN, SaltMethod
from orka.progress import to_stderr
from orka.providers.lifecycle import started
from orka.results.record import PhaseResult

NAME = "orka-bench-salt"
ANSWER_WITHIN_S = 30.0  # issue #22: every minion answers within this of the nodes being up


def tune_master(run_on: Any, worker_threads: int) -> float:
    """Set the master's worker_threads and restart it; how long until it serves again."""
    start = time.monotonic()
    conf = f"echo 'worker_threads: {worker_threads}' > /etc/salt/master.d/tuning.conf"
    script = f"{conf} && systemctl restart salt-master"
    _, err, rc, _ = run_on(MASTER, f"sh -c {shlex.quote(script)}")
    if rc != 0:
        raise SystemExit(f"bench: could not re-tune the master (exit {rc}): {err.strip()}")
    return time.monotonic() - start


def phase_figures(result: PhaseResult, nodes: int) -> dict[str, Any]:
    """What a phase did, minion by minion, as the targets read it."""
    timed_out = [h.node for h in result.hosts if h.detail.startswith(NO_RETURN) or "still running" in h.detail]
    return {
        "seconds": round(result.duration_s, 1),
        "ok": result.ok and len(result.hosts) == nodes,
        "hosts": len(result.hosts),
        "failed": [f"{h.node}: {h.detail}"[:200] for h in result.hosts if not h.ok][:10],
        "timed_out": timed_out,
        "changed": result.changed,
        "error": result.error[:300],
    }


def bench(nodes: int, worker_threads: int | None, batch: int | None) -> dict[str, Any]:
    settings = load_settings(REPO_ROOT / "settings" / "scale.yaml", {"cluster": nodes})
    settings = dataclasses.replace(settings, methods=("salt",))
    scenario = settings.scenarios[0]
    found: dict[str, Any] = {"nodes": nodes, "worker_threads": worker_threads or "as provisioned (salt's 5)"}
    found["batch_size"] = batch or "all at once"
    found["usage_before"] = host_usage()
    to_stderr(f"[bench] salt: bringing up a master and {nodes} nodes as {NAME}")
    start = time.monotonic()
    with started(settings, name=NAME, emit=to_stderr) as cluster:
        found["bring_up_s"] = round(time.monotonic() - start, 1)
        to_stderr(f"[bench] salt: {nodes} nodes up and ready in {found['bring_up_s']} s")
        method = SaltMethod(cluster, settings.timeouts.command_s, scenario)
        method.batch_size = batch
        found["minions_answering_s"] = round(method.wait_ready(), 1)
        to_stderr(f"[bench] salt: every minion answered after {found['minions_answering_s']} s")
        if worker_threads:  # after the readiness figure, which a restarted master would distort (re-auth)
            found["master_restart_s"] = round(tune_master(method.run_on, worker_threads), 1)
            found["minions_answering_again_s"] = round(method.wait_ready(), 1)
        found["usage_idle"] = host_usage()
        for phase, run in (("ping", method.ping), ("highstate", method.apply), ("highstate2", method.apply)):
            to_stderr(f"[bench] salt: {phase} on {nodes} minions")
            found[phase] = phase_figures(run(), nodes)
            found[phase]["usage"] = host_usage()
            to_stderr(f"[bench] salt: {phase} {found[phase]['seconds']} s, ok={found[phase]['ok']}")
    return found


def print_figures(found: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = found["nodes"]
    print(f"\nSalt, a master and {nodes} minions (systemd nodes, docker provider); worker_threads "
          f"{found['worker_threads']}, state runs batched: {found['batch_size']}")  # fmt: skip
    print(f"  bring-up (nodes up and ready)   {found['bring_up_s']:8.1f} s")
    print(f"  every minion answering          {found['minions_answering_s']:8.1f} s after the nodes were up")
    if "master_restart_s" in found:
        print(f"  master re-tuned and restarted   {found['master_restart_s']:8.1f} s")
        print(f"  every minion answering again    {found['minions_answering_again_s']:8.1f} s")
    for phase in ("ping", "highstate", "highstate2"):
        f = found[phase]
        print(
            f"  {phase:<31} {f['seconds']:8.1f} s  {f['hosts']}/{nodes} returned, {f['changed']} change(s), "
            f"load {f['usage']['load_1m']}, memory {f['usage']['memory_used_mib']} MiB"
        )
        for problem in f["failed"] + ([f["error"]] if f["error"] else []):
            print(f"    ! {problem}")
    targets = [
        (
            f"{nodes} minions answer within {ANSWER_WITHIN_S:g} s of the nodes being up",
            found["minions_answering_s"] <= ANSWER_WITHIN_S,
        ),
        (
            f"highstate on {nodes} completes without a minion timing out",
            found["highstate"]["ok"] and not found["highstate"]["timed_out"],
        ),
    ]
    for what, met in targets:
        print(f"  [{'met' if met else 'NOT met'}] {what}")
    return [{"target": what, "met": met} for what, met in targets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=50, help="minions (default: %(default)s)")
    parser.add_argument("--worker-threads", type=int, help="the master's worker_threads (default: as provisioned)")
    parser.add_argument("--batch", type=int, help="highstates on this many minions at a time (salt --batch-size)")
    args = parser.parse_args()
    if args.nodes < 3 or min(args.worker_threads or 1, args.batch or 1) < 1:
        parser.error("--nodes at least 3, --worker-threads and --batch at least 1")
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    out = REPO_ROOT / "reports" / "bench_salt.json"
    out.parent.mkdir(exist_ok=True)
    try:
        report["run"] = bench(args.nodes, args.worker_threads, args.batch)
        report["targets"] = print_figures(report["run"])
    finally:
        report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

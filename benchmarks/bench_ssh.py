"""Which SSH layer for orka's task runner: OpenSSH (with and without ControlMaster) or asyncssh.

    python benchmarks/bench_ssh.py --nodes 25 [--rounds 3]

Brings up a cluster of plain nodes (name orka-bench-ssh), then runs the same
remote command (`sudo -n python3 -c pass`, what the runner's payload costs
before its tasks) on every node at once, through each layer, cold (a new
connection per host) and warm (the connection kept from the round before).
Prints the figures and writes reports/bench_ssh.json. Needs asyncssh
(`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orka.config import REPO_ROOT
from orka.config.settings import load_settings
from orka.plan.state import ClusterPaths
from orka.progress import to_stderr
from orka.providers.lifecycle import started
from orka.runner.ssh import read_ssh_config

REMOTE = "sudo -n python3 -c pass"


async def openssh_round(config: Path, hosts: list[str], control_dir: Path | None) -> float:
    options = ["-o", "ControlPath=none"]
    if control_dir is not None:
        options = ["-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "-o", f"ControlPath={control_dir}/%C"]

    async def one(host: str) -> int:
        process = await asyncio.create_subprocess_exec(
            "ssh", "-F", str(config), "-o", "BatchMode=yes", *options, host, REMOTE,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return await process.wait()

    start = time.monotonic()
    codes = await asyncio.gather(*(one(h) for h in hosts))
    if any(codes):
        raise RuntimeError(f"openssh: {sum(1 for c in codes if c)} hosts failed")
    return time.monotonic() - start


async def asyncssh_round(entries: dict[str, dict[str, str]], hosts: list[str], pool: dict[str, object]) -> float:
    import asyncssh

    async def one(host: str) -> None:
        conn = pool.get(host)
        if conn is None:
            entry = entries[host]
            conn = await asyncssh.connect(
                entry["hostname"], port=int(entry.get("port", 22)), username=entry["user"],
                client_keys=[entry["identityfile"]], known_hosts=None,
            )  # fmt: skip
        result = await conn.run(REMOTE, check=True)  # type: ignore[attr-defined]
        assert result.exit_status == 0
        pool[host] = conn

    start = time.monotonic()
    await asyncio.gather(*(one(h) for h in hosts))
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = dataclasses.replace(
        load_settings(None, {"cluster": args.nodes, "provider": "docker"}), methods=("custom",)
    )
    figures: dict[str, list[float]] = {
        k: [] for k in ("openssh cold", "openssh warm", "asyncssh cold", "asyncssh warm")
    }
    with started(settings, name="orka-bench-ssh", emit=to_stderr) as cluster:
        config = ClusterPaths.for_name(cluster.name).ssh_config
        hosts = [n.name for n in cluster.nodes]
        entries = read_ssh_config(config)
        for round_ in range(args.rounds):
            control = Path(tempfile.mkdtemp(prefix="orka-bench-ssh-"))
            figures["openssh cold"].append(asyncio.run(openssh_round(config, hosts, None)))
            asyncio.run(openssh_round(config, hosts, control))  # opens the masters
            figures["openssh warm"].append(asyncio.run(openssh_round(config, hosts, control)))
            for host in hosts:  # close the masters
                asyncio.run(asyncio.create_subprocess_exec(
                    "ssh", "-F", str(config), "-o", f"ControlPath={control}/%C", "-O", "exit", host,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                ))  # fmt: skip
            shutil.rmtree(control, ignore_errors=True)

            async def both() -> tuple[float, float]:
                pool: dict[str, object] = {}
                cold = await asyncssh_round(entries, hosts, pool)
                warm = await asyncssh_round(entries, hosts, pool)
                for conn in pool.values():
                    conn.close()  # type: ignore[attr-defined]
                return cold, warm

            cold, warm = asyncio.run(both())
            figures["asyncssh cold"].append(cold)
            figures["asyncssh warm"].append(warm)
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in figures.items()), flush=True)
    print(f"\n`{REMOTE}` on {args.nodes} nodes at once, median of {args.rounds} rounds:")
    for name, values in figures.items():
        print(f"  {name:<14} {statistics.median(values):6.2f} s   (min {min(values):.2f}, max {max(values):.2f})")
    out = REPO_ROOT / "reports" / "bench_ssh.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"nodes": args.nodes, "remote": REMOTE, "figures": figures}, indent=2) + "\n")
    print(f"written: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

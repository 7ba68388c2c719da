"""Molecule, the rival of issue #16, timed on the same four tasks as orka's benchmarks/four_tasks scenario.

    python benchmarks/molecule_rival.py             # set up (once), one `molecule test`, print its seconds
    python benchmarks/molecule_rival.py --runs 3

Molecule comes from PyPI into a venv of its own (MOLECULE_PINS, under the
gitignored .orka/bench/), never the project's .venv: the full `ansible`
package brings the community.docker and ansible.posix collections that
molecule-plugins' docker driver needs, so nothing is fetched from Ansible
Galaxy. `molecule test` runs benchmarks/four_tasks/molecule/default: 3
containers of orka's own node image (systemd as PID 1, started as orka's
docker provider starts its nodes), converge (../../ansible/tasks.yml, the
tasks orka's playbook.yml runs), idempotence, verify (Ansible verifier),
destroy. Its containers are destroyed whatever happens.

Compare with orka running the same scenario, Ansible only:

    pytest spikes/ -m ansible --scenario benchmarks/four_tasks --cluster-name orka-fourtasks
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIO = REPO_ROOT / "benchmarks" / "four_tasks"  # holds molecule/default/
VENV_ROOT = REPO_ROOT / ".orka" / "bench" / "molecule-venv"
IMAGE_REPOSITORY = "orka-node"  # orka.providers.docker's, built by `make spike`
IMAGE_VARIABLE = "ORKA_NODE_IMAGE"  # what molecule.yml reads its platforms' image from
STAMP = "orka-pins.txt"  # in the venv: the pins it was installed with
TAIL_CHARS = 3000

# What `molecule test` of the four tasks was run with (Python 3.11; ansible-core 2.20+ needs 3.12).
MOLECULE_PINS = (
    "molecule==26.10.0",
    "molecule-plugins[docker]==26.10.12",
    "ansible==12.3.0",  # bundles community.docker 4.8.5 and ansible.posix: Galaxy is not needed
    "ansible-core==2.19.14",
    "ansible-compat==26.10.0",
    "docker==7.2.0",
    "requests==2.34.2",
)


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ensure_molecule_venv(root: Path = VENV_ROOT) -> Path:
    """The bin dir of a venv at root holding MOLECULE_PINS; (re)installed only when the pins changed."""
    bin_dir = root / "bin"
    stamp = root / STAMP
    wanted = "\n".join(MOLECULE_PINS) + "\n"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted and (bin_dir / "molecule").exists():
        say(f"molecule venv {root}: up to date")
        return bin_dir
    say(f"molecule venv {root}: creating it (pins changed or missing)")
    stamp.unlink(missing_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    python = str(bin_dir / "python")
    started = time.monotonic()
    say("upgrading pip")
    _pip(python, "install", "--upgrade", "pip")
    say(f"installing {' '.join(MOLECULE_PINS)} (about a minute)")
    _pip(python, "install", *MOLECULE_PINS)
    stamp.write_text(wanted, encoding="utf-8")
    say(f"molecule venv ready in {time.monotonic() - started:.0f} s")
    return bin_dir


def _pip(python: str, *args: str) -> None:
    result = subprocess.run(
        [python, "-m", "pip", "--quiet", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-TAIL_CHARS:]
        raise RuntimeError(f"pip {' '.join(args)} failed ({result.returncode}):\n{output}")


def node_image() -> str:
    """The newest orka-node:* image tag present."""
    result = subprocess.run(
        ["docker", "images", IMAGE_REPOSITORY, "--format", "{{.CreatedAt}}\t{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker images {IMAGE_REPOSITORY} failed: {result.stderr.strip()}")
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    tags = [(created, tag) for created, tag in rows if not tag.endswith(":<none>")]
    if not tags:
        raise RuntimeError(
            f"no {IMAGE_REPOSITORY}:* image on this host: `make spike` builds it (orka's docker provider), "
            "then run this again"
        )
    # CreatedAt is "2026-11-01 18:52:16 +0000 UTC": newest first sorts as text.
    return max(tags)[1]


def _molecule_env(bin_dir: Path, image: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ANSIBLE_CONFIG", None)
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",  # molecule calls ansible-config, ansible-playbook
            "VIRTUAL_ENV": str(bin_dir.parent),
            IMAGE_VARIABLE: image,
            "NO_COLOR": "1",
            "PY_COLORS": "0",
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    return env


def _molecule(bin_dir: Path, env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "molecule"), command],
        cwd=SCENARIO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def time_molecule_test(bin_dir: Path, image: str) -> float:
    """Wall seconds of one `molecule test` of the four tasks; its containers are destroyed after, whatever
    happens (and before, untimed, should a stopped run have left any)."""
    env = _molecule_env(bin_dir, image)
    _molecule(bin_dir, env, "destroy")
    try:
        say(f"molecule test on 3 containers of {image}")
        started = time.monotonic()
        result = _molecule(bin_dir, env, "test")
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise RuntimeError(
                f"molecule test failed ({result.returncode}) after {seconds:.1f} s:\n{result.stdout[-TAIL_CHARS:]}"
            )
        return seconds
    finally:
        destroyed = _molecule(bin_dir, env, "destroy")
        if destroyed.returncode != 0:
            say(f"molecule destroy failed ({destroyed.returncode}):\n{destroyed.stdout[-TAIL_CHARS:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="how many `molecule test` runs, one after the other")
    parser.add_argument("--venv", type=Path, default=VENV_ROOT, help="where Molecule's own venv lives")
    args = parser.parse_args(argv)
    bin_dir = ensure_molecule_venv(args.venv)
    image = node_image()
    for run in range(1, args.runs + 1):
        seconds = time_molecule_test(bin_dir, image)
        say(f"run {run}: molecule test took {seconds:.1f} s")
        print(f"{seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

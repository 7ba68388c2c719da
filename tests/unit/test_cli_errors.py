"""The `orka` command line as a user meets it: help, usage errors, and --name.

Each case runs `python -m orka` in a child process from the repository root.
Bad settings, trees, task files and inventories are in test_bad_input.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

from orka.config import REPO_ROOT

# A refused command answers at once; a hang means it went on to bring something up.
TIMEOUT_S = 120


def run_orka(*args: str) -> subprocess.CompletedProcess[str]:
    """Run orka as a user would, from the repository root, with no ORKA_SETTINGS around."""
    env = {k: v for k, v in os.environ.items() if k != "ORKA_SETTINGS"}
    return subprocess.run(
        [sys.executable, "-m", "orka", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    result = run_orka("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: orka")
    for command in ("up", "status", "down", "converge", "check"):
        assert command in result.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert "Traceback" not in result.stderr


def test_no_command_is_a_usage_error() -> None:
    result = run_orka()
    assert result.returncode == 2
    assert "usage: orka" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_cluster_name_is_a_usage_error() -> None:
    result = run_orka("up", "--name", "Orka_Bad", "--cluster-size", "2")  # refused twice over: nothing can boot
    assert result.returncode == 2
    assert "--name 'Orka_Bad': use lower-case letters, digits and '-', at most 40 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dry_run_without_a_kept_cluster_says_how_to_make_one() -> None:
    result = run_orka("check", "--name", "orka-no-such-cluster")
    assert result.returncode == 2, "a usage error, not `orka check`'s drifted (3)"
    assert "no cluster orka-no-such-cluster here: make one with `orka converge METHOD`" in result.stderr
    assert "Traceback" not in result.stderr

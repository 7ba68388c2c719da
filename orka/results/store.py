"""reports/results.json: the records of a run, appended by every phase as it happens.

A JSON list, replaced whole on each append and locked against parallel
workers, so a reader (or a crash) never meets half a file. Every record is
redacted of the declared secrets before it is written (orka.secrets).
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orka.files import write_atomically
from orka.secrets import redact_data


def append_records(path: Path, new: Iterable[dict[str, Any]]) -> None:
    """Append to the JSON list at path, under a lock the xdist workers share."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = read_records(path)
        existing.extend(redact_data(list(new)))
        write_atomically(path, json.dumps(existing, indent=1) + "\n")


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise ValueError(f"{path} does not hold a JSON list")
    return data

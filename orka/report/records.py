"""The records of a results file, read once into one typed Record for every report.

results.json is written by orka.results.record; files of an older orka, or
cut by hand, may lack keys or hold odd values: each field then takes its
empty value here, once, so no report has to guess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from orka.config.platforms import on_platform
from orka.errors import OrkaError
from orka.results.record import NORMAL, PASS

FIX = "run `pytest spikes/` first (or `make spike`) to record results, or give --results the file to read"


class ReportError(OrkaError):
    """The results to report on are missing or unreadable."""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _steps(value: Any) -> tuple[tuple[str, float, float], ...]:
    steps = [s for s in value or () if isinstance(s, list | tuple) and len(s) == 3]
    return tuple((str(s[0]), _number(s[1]) or 0.0, _number(s[2]) or 0.0) for s in steps)


@dataclass(frozen=True)
class Record:
    """One record: a phase of a method as a whole (node None), on one node, or one verify check of a node."""

    run_id: str
    method: str
    phase: str
    scenario: str = ""  # records of an older orka have none: the example's, before scenarios
    scenario_path: str = ""
    platform: str = ""  # records of an older orka have none: the default platform's
    node: str | None = None
    ok: bool = False  # what the tool said
    verdict: str | None = None  # what orka decided (None: recorded by an older orka)
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    changed: int = 0
    failed: int = 0
    duration_s: float | None = None
    detail: str = ""
    error: str = ""
    exit_code: int | None = None
    order: tuple[tuple[str, float, float], ...] = ()
    raw: str = ""
    check: str = ""
    tool_version: str = ""
    cluster_size: int = 0
    provider: str = ""
    node_os: str = ""
    tuning: str = ""
    condition: str = NORMAL
    recorded_at: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)  # a phase's own figures for a node (drift's)

    @property
    def passed(self) -> bool:
        """orka's verdict; for a record of an older orka, the tool's own result."""
        return self.verdict == PASS if self.verdict is not None else self.ok

    @property
    def variant(self) -> str:
        """What the reports compare the methods within: the scenario, and its platform unless the default's."""
        return on_platform(self.scenario, self.platform)

    @property
    def judged(self) -> bool:
        return self.verdict is not None

    @property
    def whole(self) -> bool:
        return self.node is None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Record:
        """A record from results.json's JSON, each field converted by its kind (see _READERS)."""
        values = {f.name: _READERS[f.name](data.get(f.name)) for f in fields(cls) if data.get(f.name) is not None}
        return cls(**values)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# How each field is read from JSON: a missing or odd value becomes the field's empty value, once, here.
_READERS: dict[str, Any] = {
    **{name: _text for name in ("run_id", "method", "phase", "detail", "error", "raw", "check", "tool_version")},
    **{
        name: _text
        for name in ("provider", "node_os", "tuning", "recorded_at", "scenario", "scenario_path", "platform")
    },
    **{name: _int for name in ("changed", "failed", "cluster_size")},
    "node": _optional_text,
    "verdict": _optional_text,
    "ok": bool,
    "reasons": _texts,
    "notes": _texts,
    "duration_s": _number,
    "exit_code": _optional_int,
    "order": _steps,
    "condition": lambda value: _text(value) or NORMAL,
    "settings": _mapping,
    "facts": _mapping,
}


def parse_records(text: str) -> list[Record]:
    """The records of a results file's text; ValueError saying why there are none."""
    if not text.strip():
        raise ValueError("is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, list):
        raise ValueError(f"holds a JSON {type(data).__name__}, not the list of records orka writes")
    found = [Record.of(r) for r in data if isinstance(r, dict) and r.get("method") and r.get("phase")]
    if not found:
        raise ValueError("holds no result records")
    return found


def read_records(path: Path) -> list[Record]:
    """The records of a file; ValueError saying why there are none (FileNotFoundError as it is)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    return parse_records(text)


def load_results(path: Path) -> list[Record]:
    """The records of results.json; a ReportError naming the file and the fix when there are none."""
    try:
        return read_records(path)
    except FileNotFoundError:
        raise ReportError(f"no results at {path}: {FIX}") from None
    except ValueError as exc:
        raise ReportError(f"{path} {exc}: {FIX}") from None


def latest_run(found: Sequence[Record]) -> tuple[str, list[str]]:
    """The run_id last recorded, and the others (older) the records also hold."""
    last_seen: dict[str, str] = {}
    for record in found:
        last_seen[record.run_id] = max(last_seen.get(record.run_id, ""), record.recorded_at)
    latest = max(last_seen, key=lambda run_id: (last_seen[run_id], run_id))
    return latest, sorted(set(last_seen) - {latest})


def of_latest_run(found: Sequence[Record]) -> list[Record]:
    run_id, _ = latest_run(found)
    return [r for r in found if r.run_id == run_id]

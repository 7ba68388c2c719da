"""reports/bamboo.properties: the facts a reviewer wants in a Bamboo build's summary, where Bamboo reads them.

Bamboo's JUnit parser keeps test names and outcomes, never a testcase's
properties; its inject-variables task (scope RESULT) shows a properties file's
keys on the build result instead. Per scenario and method: the phases passed of
those defined, the apply's time, the changes it made, and the drift found and
repaired; made from results.json alone, as the comparison page is. The plan
injects it under the namespace orka: `${bamboo.orka.example.salt.phases}`.

    <scenario>.<method>.phases=7/7
    <scenario>.<method>.apply_s=23.0
    <scenario>.<method>.apply_changed=30
    <scenario>.<method>.drift_found=4/4
    <scenario>.<method>.drift_repaired=3/3
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from orka.files import write_atomically
from orka.report.drift import drift_views
from orka.report.matrix import method_views, scenarios_of
from orka.report.records import Record, of_latest_run

FILE = "bamboo.properties"


def _key(text: str) -> str:
    """A properties key part: Bamboo variable names take letters, digits, '.', '_' and '-'."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in text) or "default"


def build_facts(found: Sequence[Record]) -> dict[str, str]:
    """Each scenario x method that ran: its phases passed, apply time and changes, drift found and repaired."""
    run = of_latest_run(found)
    facts: dict[str, str] = {}
    scenarios = scenarios_of(run)
    for scenario in scenarios:
        mine = [r for r in run if r.variant == scenario]
        for method in method_views(mine):
            if not method.ran:
                continue
            prefix = f"{_key(scenario or 'example')}.{method.name}"
            facts[f"{prefix}.phases"] = f"{method.passed}/{method.judged}"
            apply = next(c for c in method.cells if c.phase == "apply")
            if apply.status in ("pass", "fail"):
                facts[f"{prefix}.apply_s"] = f"{apply.duration_s or 0.0:.1f}"
                facts[f"{prefix}.apply_changed"] = str(apply.changed)
        for view in drift_views(run, [scenario], [m.name for m in method_views(mine)]):
            for drift in view.methods:
                prefix = f"{_key(scenario or 'example')}.{drift.method}"
                facts[f"{prefix}.drift_found"] = f"{drift.found}/{drift.made}"
                facts[f"{prefix}.drift_repaired"] = f"{drift.repaired}/{len(drift.nodes)}"
    return facts


def write_facts(found: Sequence[Record], path: Path) -> Path:
    """The properties file, written whole (a crash leaves the last one, never half of one)."""
    lines = [f"{key}={value}" for key, value in sorted(build_facts(found).items())]
    write_atomically(path, "\n".join(lines) + "\n")
    return path

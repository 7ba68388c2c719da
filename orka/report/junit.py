"""What a spike run hands to Bamboo: reports/junit.xml and the facts shown with it.

Bamboo tracks a test build to build by its classname and name, groups tests
by classname and shows the part after its last dot, and reads neither
properties nor captured output. So a spike testcase's classname is
`<junit_package>.<method>` (the scenario's package, by default
`spikes.<scenario>`; the example's is `spikes`): Bamboo shows each method's
tests together, as "salt", "ansible", "custom"; a comparison of two methods
is in `<junit_package>.equivalence`. Its name is a contract too:
`test_<what>[<method>-<node>]` for a test of one node (or `test_<what>` for a
test of a whole phase), and a scenario's own check is named by its module
first, `<module>.test_<what>[<method>-<node>]` (its class too, when it has
one: `<module>.<Class>.test_<what>[...]`). The testcase carries the
properties scenario, method, phase, node (when the name has one), duration_s
(the phase's duration) and, for the verify checks, check; a scenario's check
run again after the drift phase's repair is `<module>.test_<what>[<method>-<node>-repaired]`, phase
drift, with its check. A comparison of two methods' nodes is
`test_same_server[<method>-<method>-<node>]`, phase equivalence, with the
second method as the property compared_with. A run of several scenarios puts
the scenario first: `test_<what>[<scenario>-<method>-<node>]`,
`test_<what>[<scenario>]`.
`validate_junit` checks a file against that contract:

    python -m orka.report.junit reports/junit.xml    # exit 1 and the problems, or 0

The same facts of the run (provider, cluster size, methods, tool versions)
become the JUnit testsuite's properties and the environment table of
reports/pytest.html.
"""

from __future__ import annotations

import html
import math
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orka import __version__, methods
from orka.config import REPO_ROOT
from orka.config.platforms import DEFAULT_PLATFORM, on_platform
from orka.config.settings import Settings
from orka.report.records import load_results, read_records
from orka.results.record import DRIFT, PHASES

DEFAULT_JUNIT = REPO_ROOT / "reports" / "junit.xml"
#: The phase property of a method's test that checks something beside its phases (a hand command, a render).
EXTRA = "extra"
VERIFY = "verify"
#: The package (JUnit classname) of the spike tests.
SPIKES_PACKAGE = "spikes"

#: A check's module (and class) before its test's name: test_desired_state.test_user[...], test_web.TestProxy.test_x.
OWNER = r"(?:[A-Za-z_]\w*\.)*"
PER_NODE_NAME = re.compile(rf"^{OWNER}test_\w+\[(?P<method>[a-z]+)-(?P<node>[A-Za-z0-9][A-Za-z0-9._-]*)\]$")
#: A comparison of two methods' nodes (orka.pytest_plugin.equivalence): test_same_server[salt-ansible-orka-node-1].
PAIR_NAME = re.compile(
    r"^test_\w+\[(?P<method>[a-z]+)-(?P<compared_with>[a-z]+)-(?P<node>[A-Za-z0-9][A-Za-z0-9._-]*)\]$"
)
EQUIVALENCE = "equivalence"
#: The id suffix of a scenario's check run again after the drift phase's repair: test_x[salt-orka-node-1-repaired].
REPAIRED = "repaired"
WHOLE_PHASE_NAME = re.compile(rf"^{OWNER}test_\w+$")
PARAMS = re.compile(rf"^(?P<test>{OWNER}test_\w+)\[(?P<params>.+)\]$")
COMPARISON = "comparison.html"


def testcase_names(nodeid: str, package: str, method: str, phase: str, check: bool, platform: str) -> tuple[str, str]:
    """(classname, name) of a spike testcase: grouped by method (or as a comparison) under the scenario's
    package, on a platform but the default one under its own (spikes.debian-13.salt); a scenario's check named
    by its module (and class) first, as several modules may share a name."""
    module, *rest = nodeid.split("::")
    group = EQUIVALENCE if phase == EQUIVALENCE else method
    name = ".".join([Path(module).stem, *rest]) if check else rest[-1]
    if platform and platform != DEFAULT_PLATFORM:
        return f"{package}.{platform}.{group}", name
    # A whole phase's test is parametrized by platform when there are several: the default's keeps its name.
    return f"{package}.{group}", name.removesuffix(f"[{DEFAULT_PLATFORM}]")


def case_properties(
    method: str,
    phase: str,
    node: str | None,
    duration_s: float,
    check: str | None = None,
    scenario: str = "",
    platform: str = "",
) -> list[tuple[str, str]]:
    """The properties of one spike testcase, in a fixed order (the default platform's name none)."""
    props = [("scenario", scenario)] if scenario else []
    props += [("platform", platform)] if platform and platform != DEFAULT_PLATFORM else []
    props += [("method", method), ("phase", phase)]
    if node:
        props.append(("node", node))
    if check:
        props.append(("check", check))
    props.append(("duration_s", f"{duration_s:.3f}"))
    return props


# --- the facts of the run -------------------------------------------------------------------------


def pinned_tools(pins: Path) -> dict[str, str]:
    """`name==version` lines of the wheelhouse pins (what the nodes install), by name."""
    tools: dict[str, str] = {}
    if pins.is_file():
        for line in pins.read_text().splitlines():
            name, sep, version = line.split("#", 1)[0].strip().partition("==")
            if sep and name and version:
                tools[name.strip()] = version.strip()
    return tools


def recorded_facts(results: Path, run_id: str) -> dict[str, Any]:
    """What reports/results.json says this run ran on: provider, cluster size, node OS, each method's tool."""
    try:
        ours = [r for r in read_records(results) if r.run_id == run_id]
    except (OSError, ValueError):
        return {}
    facts: dict[str, Any] = {}
    for key in ("provider", "cluster_size", "node_os"):
        values = list(dict.fromkeys(getattr(r, key) for r in ours if getattr(r, key)))
        if values:
            facts[key] = values[0] if len(values) == 1 else ", ".join(map(str, values))
    methods = list(dict.fromkeys(r.method for r in ours))
    if methods:
        facts["methods"] = methods
    tools = {r.method: r.tool_version for r in ours if r.tool_version}
    if tools:
        facts["tools"] = tools
    return facts


def suite_properties(settings: Settings, results: Path, run_id: str) -> dict[str, str]:
    """The JUnit testsuite's properties: as the run found them, else as the settings asked."""
    facts = recorded_facts(results, run_id)
    return {
        "provider": str(facts.get("provider", settings.provider)),
        "cluster_size": str(facts.get("cluster_size", settings.cluster)),
        "run_id": run_id,
    }


def environment(settings: Settings, run_id: str, pins: Path) -> dict[str, Any]:
    """The html report's environment table, from what is known before anything boots."""
    tools: dict[str, str] = {name: f"{version} (pinned)" for name, version in pinned_tools(pins).items()}
    for name in settings.methods:  # a method whose tool is orka's own has orka's version
        if methods.descriptor(name).own_tool:
            tools[methods.descriptor(name).own_tool] = __version__
    return _escaped(
        {
            "orka": __version__,
            "Run id": run_id,
            "Settings file": _shown_path(settings.source),
            "Provider": settings.provider,
            "Cluster size": settings.cluster,
            "Methods": ", ".join(settings.methods),
            "Tools": tools,
        }
    )


def recorded_environment(settings: Settings, results: Path, run_id: str) -> dict[str, Any]:
    """The environment entries the run itself found out: they replace what the settings asked for."""
    facts = recorded_facts(results, run_id)
    found: dict[str, Any] = {}
    if "provider" in facts:
        found["Provider"] = _as_run(str(facts["provider"]), settings.provider)
    if "cluster_size" in facts:
        found["Cluster size"] = _as_run(str(facts["cluster_size"]), str(settings.cluster))
    if "methods" in facts:
        found["Methods"] = _as_run(", ".join(facts["methods"]), ", ".join(settings.methods))
    if "node_os" in facts:
        found["Node OS"] = facts["node_os"]
    if "tools" in facts:
        found["Tools (as run)"] = facts["tools"]
    return _escaped(found)


def _as_run(found: str, asked: str) -> str:
    return found if found == asked else f"{found} (settings: {asked})"


def _shown_path(source: str) -> str:
    path = Path(source)
    return str(path.relative_to(REPO_ROOT)) if path.is_absolute() and path.is_relative_to(REPO_ROOT) else source


def _escaped(values: dict[str, Any]) -> dict[str, Any]:
    # pytest-html puts environment values into its page as HTML.
    def one(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): one(v) for k, v in value.items()}
        return html.escape(str(value))

    return {key: one(value) for key, value in values.items()}


def comparison_link(html_report: Path, comparison: Path) -> str:
    """The html report's paragraph linking the methods' comparison (relative, so the folder can move)."""
    href = os.path.relpath(comparison, html_report.parent)
    return (
        f'<p>The methods compared: <a href="{html.escape(href)}">{html.escape(comparison.name)}</a> '
        "(from reports/results.json, by <code>orka report</code>).</p>"
    )


# --- the check of a junit.xml ---------------------------------------------------------------------


def validate_junit(path: Path | str) -> list[str]:
    """The problems of a JUnit XML file as Bamboo should read it from a spike run; empty when fine."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        return [f"{path}: no such file"]
    except (OSError, ET.ParseError) as exc:
        return [f"{path}: not readable JUnit XML: {exc}"]
    cases = list(root.iter("testcase"))
    if not cases:
        return [f"{path}: no testcases"]
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for case in cases:
        classname, name = case.get("classname", ""), case.get("name", "")
        label = f"{classname}::{name}"
        if (classname, name) in seen:
            problems.append(f"{label}: appears twice: Bamboo could not tell the two apart")
        seen.add((classname, name))
        props = _properties(case)
        if classname.split(".")[0] == SPIKES_PACKAGE or props.get("phase"):
            problems += [f"{label}: {problem}" for problem in _spike_case_problems(classname, name, props)]
    return problems


def _properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iterfind("properties/property")}


def _without_scenario(name: str, scenario: str) -> str:
    """The name as a run of one scenario gives it:
    `test_x[web-salt-n1]` -> `test_x[salt-n1]`, `test_x[web]` -> `test_x`."""
    found = PARAMS.match(name)
    if not scenario or found is None:
        return name
    if found["params"] == scenario:
        return found["test"]
    if found["params"].startswith(f"{scenario}-"):
        return f"{found['test']}[{found['params'][len(scenario) + 1 :]}]"
    return name


def _spike_case_problems(classname: str, name: str, props: Mapping[str, str]) -> list[str]:
    group = EQUIVALENCE if props.get("phase") == EQUIVALENCE else props.get("method", "")
    if group and classname.rsplit(".", 1)[-1] != group:
        return [f"the classname does not end in .{group}: Bamboo would not show it with the rest of {group}"]
    name = _without_scenario(_without_scenario(name, props.get("scenario", "")), props.get("platform", ""))
    if props.get("phase") == EQUIVALENCE:
        return _pair_case_problems(name, props)
    if props.get("phase") == DRIFT and props.get("check"):  # a check run again after the drift's repair
        if not name.endswith(f"-{REPAIRED}]"):
            return [f"a check of the drift phase reads not test_<what>[<method>-<node>-{REPAIRED}]"]
        name = name.removesuffix(f"-{REPAIRED}]") + "]"
    per_node = PER_NODE_NAME.match(name)
    if per_node is None and not WHOLE_PHASE_NAME.match(name):
        return ["the name reads neither test_<what>[<method>-<node>] nor test_<what> (a whole-phase test)"]
    problems: list[str] = []
    required = ["method", "phase", "duration_s"]
    if per_node is not None:
        required.append("node")
    if props.get("phase") == VERIFY:
        required.append("check")
    missing = [key for key in required if not props.get(key)]
    if missing:
        problems.append(f"no {', '.join(missing)} property")
    known = methods.names()
    if per_node is not None and per_node["method"] not in known:
        params = name[name.index("[") :]
        problems.append(f"the name's {params} does not begin with a method ({', '.join(known)})")
    elif per_node is not None:
        for key in ("method", "node"):
            if props.get(key) and props[key] != per_node[key]:
                problems.append(f"property {key}={props[key]!r} but the name says {per_node[key]!r}")
    if props.get("method") and props["method"] not in known:
        problems.append(f"property method={props['method']!r} is none of {', '.join(known)}")
    if props.get("phase") and props["phase"] not in (*PHASES, EXTRA):
        problems.append(f"property phase={props['phase']!r} is none of {', '.join((*PHASES, EXTRA))}")
    if props.get("duration_s"):
        try:
            duration = float(props["duration_s"])
        except ValueError:
            duration = -1.0
        if not math.isfinite(duration) or duration < 0:
            problems.append(f"property duration_s={props['duration_s']!r} is not a number of seconds")
    return problems


def _pair_case_problems(name: str, props: Mapping[str, str]) -> list[str]:
    pair = PAIR_NAME.match(name)
    if pair is None:
        return ["the name reads not test_<what>[<method>-<method>-<node>] (a comparison of two methods)"]
    problems = []
    for key in ("method", "compared_with", "node"):
        if props.get(key) != pair[key]:
            problems.append(f"property {key}={props.get(key)!r} but the name says {pair[key]!r}")
    known = methods.names()
    for key in ("method", "compared_with"):
        if pair[key] not in known:
            problems.append(f"{pair[key]!r} is none of {', '.join(known)}")
    return problems


# --- the same verdict in JUnit and on the page ---------------------------------------------------

VerdictKey = tuple[str, str, str, str | None, str | None]  # scenario, method, phase, node, check


def testcase_verdicts(path: Path | str) -> dict[str, tuple[VerdictKey, bool]]:
    """Each spike testcase of a phase (not the extra checks): what it checks, and whether it passed."""
    found: dict[str, tuple[VerdictKey, bool]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = _properties(case)
        if props.get("phase") not in PHASES:
            continue
        passed = not any(case.find(tag) is not None for tag in ("failure", "error", "skipped"))
        scenario, method = on_platform(props.get("scenario", ""), props.get("platform", "")), props.get("method", "")
        key = (scenario, method, props["phase"], props.get("node") or None, props.get("check") or None)
        found[f"{case.get('classname')}::{case.get('name')}"] = (key, passed)
    return found


def verdict_mismatches(cases: Mapping[str, tuple[VerdictKey, bool]], page: Mapping[VerdictKey, bool]) -> list[str]:
    """Every testcase whose outcome is not what the page shows for the same method, phase, node and check."""
    problems = []
    for label, (key, passed) in cases.items():
        shown = page.get(key)
        if shown is None and passed:
            problems.append(f"{label}: passed, but the comparison page shows nothing of {_key_words(key)}")
        elif shown is not None and shown != passed:
            page_word = "PASS" if shown else "FAIL"
            problems.append(
                f"{label}: {'passed' if passed else 'failed'}, the page shows {page_word} for {_key_words(key)}"
            )
    return problems


def _key_words(key: VerdictKey) -> str:
    scenario, method, phase, node, check = key
    return " ".join(part for part in (scenario, method, phase, node, check and f"check {check}") if part)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    results: Path | None = None
    if "--results" in args:
        at = args.index("--results")
        if at + 1 >= len(args):
            print("usage: python -m orka.report.junit [JUNIT_XML] [--results RESULTS_JSON]")
            return 2
        results = Path(args[at + 1])
        del args[at : at + 2]
    if len(args) > 1 or args[:1] in (["-h"], ["--help"]):
        print("usage: python -m orka.report.junit [JUNIT_XML] [--results RESULTS_JSON]  (default: reports/junit.xml)")
        return 2 if len(args) > 1 else 0
    path = Path(args[0]) if args else DEFAULT_JUNIT
    problems = validate_junit(path)
    if results is not None and not problems:
        from orka.report.matrix import page_verdicts  # the page's own reading of the records (matplotlib)

        problems = verdict_mismatches(testcase_verdicts(path), page_verdicts(load_results(results)))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{path}: {len(problems)} problem(s)")
        return 1
    cases = len(list(ET.parse(path).getroot().iter("testcase")))
    agreed = f"; every phase's outcome as the page of {results} shows it" if results else ""
    print(f"{path}: {cases} testcases, fine{agreed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

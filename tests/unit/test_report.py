"""orka report: the comparison page says what the recorded results say.

Inputs are recorded results in tests/unit/data/results/ (all_green.json: three
methods, every phase, three nodes; one_node_failing.json: ansible's apply
failed on orka-node-2, and so did its idempotence, orchestrate and verify
there; missing_method.json: custom did not run). The page is parsed with
html.parser and the tests look at the elements a reviewer reads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orka.config import REPO_ROOT
from orka.errors import OrkaError
from orka.methods.salt.method import parse_apply
from orka.report.conditions import conditions_of
from orka.report.effort import count_effort, meaningful_lines
from orka.report.matrix import RAW_TAIL_LINES
from orka.report.page import render_comparison
from orka.report.records import Record, ReportError, load_results
from orka.report.scale import ScaleView, rows_of, text_table
from orka.report.scale import main as scale_main
from orka.results.record import PHASES, HostOutcome, PhaseResult, RunContext
from orka.results.record import records as records_of
from orka.results.verdict import Expectations, judge

DATA = Path(__file__).parent / "data" / "results"
SCALE_SIZES = (3, 10, 25)  # the runs in data/results/scale/
METHODS = ("salt", "ansible", "custom")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# -- a small DOM of the page ---------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@dataclass
class Page:
    html: str
    dom: Element

    def cell(self, method: str, phase: str) -> Element:
        return self.dom.find("td", data_method=method, data_phase=phase)

    def section(self, name: str) -> Element:
        return self.dom.find("section", id=name)


# -- inputs --------------------------------------------------------------------


def records(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((DATA / f"{name}.json").read_text())
    return data


def write_records(path: Path, data: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(data))
    return path


def bench_file(folder: Path) -> Path:
    """A small bench_methods.json as benchmarks/bench_methods.py writes it."""
    rows = []
    for size, factor in ((3, 1.0), (10, 2.5)):
        for tool, base in (("custom", 0.4), ("ansible", 1.6)):
            for phase, scale in (("ping", 1.0), ("apply", 3.0), ("apply2", 2.0)):
                rows.append(
                    {"size": size, "run": 1, "tool": tool, "phase": phase, "seconds": round(base * scale * factor, 3),
                     "valid": True, "exit_code": 0, "changed": 0, "problem": "", "output": ""}
                )  # fmt: skip
    rows.append(
        {"size": 10, "run": 1, "tool": "pyinfra", "phase": "ping", "seconds": 9.9, "valid": False, "exit_code": 1,
         "changed": None, "problem": "connected to 1 of 10 nodes", "output": ""}
    )  # fmt: skip
    report = {
        "date": "2026-11-26T14:05:40+00:00",
        "machine": {"nproc": 2, "memory_mb": 24105, "platform": "Linux-6.1-x86_64"},
        "versions": {"python": "3.11.7", "ansible-core": "2.19.14"},
        "sizes": [3, 10],
        "tools": ["custom", "ansible", "pyinfra"],
        "runs_per_size": 1,
        "notes": ["ping is measured cold"],
        "records": rows,
    }
    path = folder / "bench_methods.json"
    path.write_text(json.dumps(report))
    return path


def spikes_tree(root: Path) -> Path:
    """A spikes folder with known counts: comments, blank lines and excluded files around the counted lines."""
    files = {
        # salt: 2 files, 3 + 2 lines
        "salt/top.sls": "# the top file\n\nbase:\n  '*':\n    - orka\n",
        "salt/orka/map.jinja": (
            "{#- values per OS family,\n    over two lines -#}\n{% set a = 1 %}\n\n{# one #}\n{% set b = 2 %}\n"
        ),
        "salt/README.md": "# notes\nnot counted\n",
        "salt/__init__.py": "",
        "salt/test_salt.py": "def test_x() -> None:\n    pass\n",
        "salt/tests/extra.sls": "not: counted\n",
        "salt/.hidden/x.sls": "not: counted\n",
        # ansible: 3 files, 2 + 2 + 1 lines
        "ansible/ansible.cfg": "# comment\n[defaults]\n; an ini comment\nforks = 100\n",
        "ansible/playbook.yml": "---\n# a play\n- hosts: all\n",
        "ansible/roles/orka/templates/node.conf.j2": "{# a template comment #}\nnode={{ inventory_hostname }}\n",
        "ansible/roles/orka/files/notes.txt": "not a counted suffix\n",
        # custom: 1 file, 4 lines
        "custom/desired_state.yml": "# tasks\ntasks:\n  - name: tree\n    package: {name: tree}\n\n  - ping: {}\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


RenderFn = Callable[..., Page]


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> RenderFn:
    """Render a page into a folder of its own; the page parsed. Same inputs, same page: rendered once.

    with_extras: with the benchmark, the scale runs (data/results/scale/) and the latency records
    (data/results/latency.json); without, none of the three sections."""
    folder = tmp_path_factory.mktemp("report")
    spikes = spikes_tree(folder / "spikes")
    bench = bench_file(folder)
    cache: dict[tuple[str, bool], Page] = {}

    def make(name: str, *, with_extras: bool = True) -> Page:
        key = (name, with_extras)
        if key not in cache:
            out = folder / f"{name}-{with_extras}" / "comparison.html"
            written = render_comparison(
                DATA / f"{name}.json",
                out,
                spikes_dir=spikes,
                bench_path=bench if with_extras else None,
                scale_dir=DATA / "scale" if with_extras else None,
                conditions_path=DATA / "latency.json" if with_extras else None,
            )
            assert written == out
            html = out.read_text()
            cache[key] = Page(html, parse(html))
        return cache[key]

    return make


# -- the matrix ----------------------------------------------------------------


def test_all_green_every_cell_passes_with_its_time(render: RenderFn) -> None:
    page = render("all_green")
    for method in METHODS:
        for phase in PHASES:
            cell = page.cell(method, phase)
            assert cell.attrs["data-status"] == "pass", (method, phase)
            assert "PASS" in cell.text()
    # Times as recorded, with the units a reader expects.
    assert "23.0 s" in page.cell("salt", "apply").text()
    assert "21.5 s" in page.cell("ansible", "apply").text()
    assert "0.33 s" in page.cell("custom", "ping").text()
    assert "0.19 s" in page.cell("custom", "orchestrate").text()
    # Changes and failures over every node.
    assert "30 changed · 0 failed" in page.cell("salt", "apply").text()
    assert "0 changed · 0 failed" in page.cell("ansible", "idempotence").text()
    # verify has no whole-phase record: 5 checks x 3 nodes, time is their sum.
    verify = page.cell("salt", "verify").text()
    assert "15 checks · 0 failed" in verify
    assert "5.94 s" in verify
    assert "5/5 checks" in verify
    # The orchestration's steps ran one after the other.
    assert "2 steps in order" in page.cell("salt", "orchestrate").text()
    # The total per method: salt 2.773 + 23.001 + 8.124 + 3.875 + 5.94 + drift 15.8.
    row = page.section("matrix").find("tr", data_method="salt")
    assert "59.5 s" in row.find("td", class_="total-cell").text()
    assert "None: every phase of every method that ran passed." in page.section("failures").text()


def test_per_node_detail_under_each_cell(render: RenderFn) -> None:
    cell = render("all_green").cell("custom", "apply")
    details = cell.find("details", class_="nodes")
    assert "open" not in details.attrs  # a passing cell keeps its nodes folded
    lines = [li.text() for li in details.find_all("li")]
    assert [line.split()[1] for line in lines] == ["orka-node-1", "orka-node-2", "orka-node-3"]
    assert all("10 changed" in line and "tree package" in line for line in lines)


def test_failed_cell_says_fail_and_shows_the_node_and_why(render: RenderFn) -> None:
    page = render("one_node_failing")
    cell = page.cell("ansible", "apply")
    assert cell.attrs["data-status"] == "fail"
    assert cell.find("span", class_="status").text() == "FAIL"
    assert "1 failed" in cell.text()
    details = cell.find("details", class_="nodes")
    assert "open" in details.attrs  # a failed cell shows its nodes at once
    failing = [li for li in details.find_all("li") if "bad" in li.classes()]
    assert len(failing) == 1
    assert "orka-node-2" in failing[0].text()
    assert "No package matching 'tree' is available" in failing[0].text()
    # The phases after it, as they went on that node.
    assert page.cell("ansible", "idempotence").attrs["data-status"] == "fail"
    assert "Destination directory /etc/orka does not exist" in page.cell("ansible", "orchestrate").text()
    verify = page.cell("ansible", "verify")
    assert verify.attrs["data-status"] == "fail"
    assert "5 failed" in verify.text()
    assert "0/5 checks" in verify.text()
    assert "test_node_conf" in verify.text()
    # ping passed, and the other methods are untouched.
    assert page.cell("ansible", "ping").attrs["data-status"] == "pass"
    assert page.cell("salt", "apply").attrs["data-status"] == "pass"
    card = next(c for c in page.dom.find_all("div") if "card" in c.classes() and "ansible" in c.text())
    assert "2/7 phases passed" in card.text()  # up and ping


def test_failure_shows_the_tools_output_escaped_in_details(render: RenderFn) -> None:
    page = render("one_node_failing")
    failure = page.dom.find("div", id="failure-ansible-apply")
    assert failure.find("h3").text() == "ansible · apply: FAIL"
    assert "orka-node-2" in failure.text()
    raw = failure.find("details", class_="raw")
    assert "ansible's output of apply" in raw.find("summary").text()
    pre = raw.find("pre")
    assert "[WARNING]: Platform linux on host orka-node-2" in pre.text()
    assert '"status": "failed", "changed": false' in pre.text()  # the JSON as the tool printed it
    # The cell links to it.
    assert page.cell("ansible", "apply").find("a", class_="out").attrs["href"] == "#failure-ansible-apply"
    # Only failures have a failure block.
    assert {f.attrs["id"] for f in page.section("failures").find_all("div", class_="failure")} == {
        f"failure-ansible-{phase}" for phase in ("apply", "idempotence", "orchestrate", "verify")
    }


def test_long_output_is_trimmed_to_its_end_and_escaped(tmp_path: Path) -> None:
    data = records("one_node_failing")
    whole = next(r for r in data if (r["method"], r["phase"], r["node"]) == ("ansible", "apply", None))
    whole["raw"] = "\n".join(f"<line {i:04d}>" for i in range(500)) + "\n<script>alert('x')</script>\n"
    out = render_comparison(
        write_records(tmp_path / "results.json", data), tmp_path / "page.html", bench_path=None, scale_dir=None
    )
    html = out.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    pre = parse(html).find("div", id="failure-ansible-apply").find("pre")
    shown = pre.text()
    assert "<line 0499>" in shown
    assert f"<line {501 - RAW_TAIL_LINES:04d}>" in shown
    assert f"<line {500 - RAW_TAIL_LINES:04d}>" not in shown
    assert f"the last {RAW_TAIL_LINES} of 501 lines" in html


def test_a_method_that_did_not_run_says_not_run(render: RenderFn) -> None:
    page = render("missing_method")
    for phase in PHASES:
        cell = page.cell("custom", phase)
        assert cell.attrs["data-status"] == "not-run"
        assert cell.text() == "not run"
    assert page.cell("salt", "apply").attrs["data-status"] == "pass"
    assert "not run" in page.section("matrix").find("tr", data_method="custom").find("td", class_="total-cell").text()
    facts = page.section("facts").find("tr", data_method="custom")
    assert "not run" in facts.text()


def test_a_phase_without_records_is_not_a_pass(tmp_path: Path) -> None:
    data = [r for r in records("all_green") if not (r["method"] == "salt" and r["phase"] == "orchestrate")]
    out = render_comparison(
        write_records(tmp_path / "results.json", data), tmp_path / "page.html", bench_path=None, scale_dir=None
    )
    cell = parse(out.read_text()).find("td", data_method="salt", data_phase="orchestrate")
    assert cell.attrs["data-status"] == "missing"
    assert "no record" in cell.text()


def test_only_the_latest_run_and_it_says_so(tmp_path: Path) -> None:
    older = records("one_node_failing")
    for r in older:
        r["run_id"] = "20261125T090000Z"
        r["recorded_at"] = r["recorded_at"].replace("2026-11-26", "2026-11-25")
    results = write_records(tmp_path / "results.json", older + records("all_green"))
    dom = parse(render_comparison(results, tmp_path / "page.html", bench_path=None, scale_dir=None).read_text())
    assert dom.find("td", data_method="ansible", data_phase="apply").attrs["data-status"] == "pass"
    notice = dom.find("p", id="older-runs").text()
    assert "holds 2 runs" in notice
    assert "only the latest" in notice
    assert "20261126T135935Z" in notice
    assert "20261125T090000Z" in notice


# -- facts, charts, effort -----------------------------------------------------


def test_facts_name_versions_provider_os_settings_and_tuning(render: RenderFn) -> None:
    facts = render("all_green").section("facts")
    rows = {m: facts.find("tr", data_method=m).text() for m in METHODS}
    assert "salt 3008.4 (Argon)" in rows["salt"]
    assert "ansible [core 2.19.14]" in rows["ansible"]
    assert "orka-runner 0.1.0" in rows["custom"]
    for method in METHODS:
        assert "docker" in rows[method]
        assert "Debian GNU/Linux 12 (bookworm)" in rows[method]
        assert "2026-11-26" in rows[method]
    assert "pipelining" in rows["ansible"]
    assert "acceptance_wait_time 1" in rows["salt"]
    assert "one SSH session per host per step" in rows["custom"]
    settings = {
        tr.find_all("td")[0].text(): tr.find_all("td")[1].text()
        for tr in facts.find("table", id="settings").find_all("tr")
    }
    assert settings["cluster"] == "3"
    assert settings["provider"] == "docker"
    assert settings["timeouts.command_s"] == "300"
    assert settings["methods"] == "salt, ansible, custom"
    lede = render("all_green").dom.find("p", class_="lede").text()
    assert "3 nodes" in lede
    assert "docker" in lede
    assert "Debian GNU/Linux 12 (bookworm)" in lede


def test_charts_are_inline_svg(render: RenderFn) -> None:
    page = render("all_green")
    for chart in ("chart-phases", "chart-sizes"):
        svgs = page.dom.find("figure", id=chart).find_all("svg")
        assert len(svgs) == 1, chart
        assert svgs[0].attrs.get("role") == "img"
    # Several charts in one document: every id once.
    ids = [e.attrs["id"] for e in page.dom.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids))
    caption = page.dom.find("figure", id="chart-sizes").find("figcaption").text()
    assert "2026-11-26" in caption
    assert "pyinfra at 10 nodes" in caption  # an invalid measurement is said, not drawn
    assert "connected to 1 of 10 nodes" in caption


def test_without_benchmark_results_the_page_says_how_to_get_them(render: RenderFn, tmp_path: Path) -> None:
    assert "chart-sizes" not in render("all_green", with_extras=False).html
    out = render_comparison(
        DATA / "all_green.json", tmp_path / "page.html", bench_path=tmp_path / "none.json", scale_dir=None
    )
    note = parse(out.read_text()).find("p", id="no-bench").text()
    assert "no benchmark results at" in note
    assert "make bench-methods" in note


@pytest.mark.parametrize("name", ["all_green", "one_node_failing", "missing_method"])
def test_self_contained_no_script_no_external_resource(render: RenderFn, name: str) -> None:
    html = render(name).html
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", html, re.IGNORECASE)
    assert "@import" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert not [e for e in render(name).dom.iter() if e.tag in ("img", "iframe", "object", "embed")]


def test_effort_counts_files_and_lines_of_the_spikes_folder(render: RenderFn) -> None:
    effort = render("all_green").section("effort")
    counted = {
        m: (effort.find("tr", data_method=m).find("td", class_="num files").text(),
            effort.find("tr", data_method=m).find("td", class_="num lines").text())
        for m in METHODS
    }  # fmt: skip
    assert counted == {"salt": ("2", "5"), "ansible": ("3", "5"), "custom": ("1", "4")}
    files = effort.find("tr", data_method="salt").text()
    assert "orka/map.jinja" in files
    assert "test_salt.py" not in files
    assert "README.md" not in files


def test_count_effort_rules(tmp_path: Path) -> None:
    views = {v.method: v for v in count_effort(spikes_tree(tmp_path / "spikes"))}
    assert [f.path for f in views["salt"].files] == ["orka/map.jinja", "top.sls"]
    assert [f.path for f in views["ansible"].files] == [
        "ansible.cfg",
        "playbook.yml",
        "roles/orka/templates/node.conf.j2",
    ]
    assert (views["salt"].lines, views["ansible"].lines, views["custom"].lines) == (5, 5, 4)
    missing = {v.method: v for v in count_effort(tmp_path / "elsewhere")}
    assert not missing["salt"].exists
    assert missing["salt"].files == ()


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a: 1\n\n   \n# c\n  # indented\nb: 2\n", 2),
        ("{#- one\n two -#}\nx\n", 1),
        ("x {# inline #} y\n{# whole #}\n", 1),
        ("[s]\n; ini\nk = v\n", 2),
    ],
)
def test_meaningful_lines(text: str, lines: int) -> None:
    assert meaningful_lines(text) == lines


def test_the_example_scenario_is_counted() -> None:
    views = {v.method: v for v in count_effort(REPO_ROOT / "spikes" / "example")}
    assert all(views[m].exists and views[m].files and views[m].lines > 0 for m in METHODS)
    assert all(not f.path.startswith("test_") for v in views.values() for f in v.files)


# -- errors and writing --------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no results at"),
        ("", "is empty"),
        ("  \n", "is empty"),
        ("[{", "is not valid JSON"),
        ('{"method": "salt"}', "holds a JSON dict, not the list"),
        ("[]", "holds no result records"),
    ],
)
def test_missing_or_invalid_results_is_a_clear_error(tmp_path: Path, content: str | None, says: str) -> None:
    results = tmp_path / "results.json"
    if content is not None:
        results.write_text(content)
    out = tmp_path / "comparison.html"
    with pytest.raises(ReportError) as raised:
        render_comparison(results, out, bench_path=None, scale_dir=None)
    assert isinstance(raised.value, OrkaError)
    message = str(raised.value)
    assert str(results) in message
    assert says in message
    assert "run `pytest spikes/` first" in message
    assert not out.exists()


def test_load_results_keeps_only_records() -> None:
    found = load_results(DATA / "missing_method.json")
    assert {r.method for r in found} == {"salt", "ansible"}


def test_written_atomically_no_temp_file_left(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "comparison.html"
    render_comparison(DATA / "all_green.json", out, bench_path=None, scale_dir=None)
    assert sorted(p.name for p in out.parent.iterdir()) == ["comparison.html"]
    assert out.read_text().rstrip().endswith("</html>")
    assert out.stat().st_mode & 0o777 == 0o644


def test_a_crash_while_writing_keeps_the_old_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "comparison.html"
    out.write_text("the old page")

    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        render_comparison(DATA / "all_green.json", out, bench_path=None, scale_dir=None)
    assert out.read_text() == "the old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparison.html"]


# -- orka report ---------------------------------------------------------------


def run_orka(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orka", "report", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_orka_report_writes_the_page_and_prints_its_path(tmp_path: Path) -> None:
    out = tmp_path / "comparison.html"
    done = run_orka("--results", str(DATA / "one_node_failing.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert 'data-status="fail"' in out.read_text()


def test_orka_report_without_results_is_exit_2_with_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "results.json"
    done = run_orka("--results", str(missing), "--out", str(tmp_path / "comparison.html"))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("orka: error: ")
    assert str(missing) in done.stderr
    assert "pytest spikes/" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "comparison.html").exists()


# -- under network latency -------------------------------------------------------


def test_latency_table_gives_medians_normal_and_under_latency_with_failures(render: RenderFn) -> None:
    section = render("all_green").section("conditions")
    assert section.find("h2").text() == "Under network latency"
    table = section.find("table", id="conditions-table")
    assert [th.text() for th in table.find("thead").find_all("th")] == ["method", "phase", "normal", "latency 100 ms"]
    rows = {(tr.attrs["data-method"], tr.attrs["data-phase"]): tr for tr in table.find("tbody").find_all("tr")}
    assert list(rows) == [(m, p) for m in METHODS for p in ("ping", "idempotence")]
    normal = rows[("ansible", "ping")].find("td", data_condition="normal")
    latency = rows[("ansible", "ping")].find("td", data_condition="latency 100 ms")
    assert "2.48 s" in normal.text()
    assert "5.97 s" in latency.text()
    assert "(\u00d72.4)" in latency.text()  # 5.97 / 2.48
    assert "1 run, no failure" in latency.text()
    failed = rows[("ansible", "idempotence")].find("td", data_condition="latency 100 ms")
    assert failed.attrs["data-status"] == "fail"
    assert "31.4 s" in failed.text()
    assert "1 failed (1 node failure)" in failed.text()
    assert "1 node(s) failed" in failed.text()
    assert rows[("ansible", "idempotence")].find("td", data_condition="normal").attrs["data-status"] == "pass"
    assert "(\u00d73.6)" in rows[("custom", "ping")].find("td", data_condition="latency 100 ms").text()  # 1.12 / 0.31
    hint = section.find("p", class_="hint").text()
    assert "3 nodes" in hint
    assert "1 run(s)" in hint


def test_no_latency_section_without_conditions_json(render: RenderFn) -> None:
    assert 'id="conditions"' not in render("all_green", with_extras=False).html


def test_conditions_json_beside_the_results_is_read_by_default(tmp_path: Path) -> None:
    results = write_records(tmp_path / "results.json", records("all_green"))
    (tmp_path / "conditions.json").write_text((DATA / "latency.json").read_text())
    out = render_comparison(results, tmp_path / "page.html", bench_path=None, scale_dir=None)
    assert parse(out.read_text()).find("table", id="conditions-table")


@pytest.mark.parametrize(("content", "says"), [("[{", "could not read"), ("[]", "holds no result records")])
def test_a_broken_conditions_json_is_said_not_fatal(tmp_path: Path, content: str, says: str) -> None:
    (tmp_path / "conditions.json").write_text(content)
    out = render_comparison(
        DATA / "all_green.json",
        tmp_path / "page.html",
        bench_path=None,
        scale_dir=None,
        conditions_path=tmp_path / "conditions.json",
    )
    section = parse(out.read_text()).find("section", id="conditions")
    assert says in section.text()
    assert "conditions.json" in section.text()


def test_records_without_a_condition_count_as_normal() -> None:
    data = [dict(r) for r in records("latency")]
    for r in data:
        if r["condition"] == "normal":
            del r["condition"]
    view = conditions_of([Record.of(r) for r in data], "latency.json")
    assert view.conditions == ("normal", "latency 100 ms")
    cells = {(row.method, row.phase): row.cells for row in view.rows}
    assert cells[("salt", "ping")][0].median_s == 1.21
    assert cells[("salt", "ping")][1].factor == pytest.approx(1.64 / 1.21)


# -- time against cluster size: the spikes -------------------------------------------------------
# data/results/scale/: real `pytest spikes/ -n 1 --cluster-size N --results reports/scale/<file>`
# runs on this 2-core machine (per node only up's and verify's records kept; tool output and
# settings dropped). 10.json and 25.json ran with the default timeouts and the salt method as it
# was: salt's apply failed at 10 and 25 nodes (salt gave up on minions too busy to answer its
# find_job), Ansible's first apply at 25 nodes outran the 300 s command timeout. 10-salt.json and
# 25-salt-ansible.json are the same methods run again with settings/scale.yaml and salt fixed: a
# later run of a method at a size is the one the page shows.


def scale_table(page: Page) -> dict[tuple[str, int], Element]:
    table = page.dom.find("table", id="scale-table")
    return {(tr.attrs["data-method"], int(tr.attrs["data-size"])): tr for tr in table.find("tbody").find_all("tr")}


def scale_cell(row: Element, phase: str) -> Element:
    return row.find("td", data_phase=phase)


def test_scale_chart_and_table_every_method_at_every_size(render: RenderFn) -> None:
    page = render("all_green")
    svgs = page.dom.find("figure", id="chart-scale").find_all("svg")
    assert len(svgs) == 1
    assert svgs[0].attrs["aria-label"] == "Each method's phase times against cluster size, in seconds"
    assert list(scale_table(page)) == [(m, n) for m in METHODS for n in SCALE_SIZES]
    caption = page.dom.find("figure", id="chart-scale").find("figcaption").text()
    assert f"clusters of {', '.join(map(str, SCALE_SIZES))} nodes" in caption


def test_scale_table_gives_each_phase_its_time_and_freshness_from_the_latest_run(render: RenderFn) -> None:
    rows = scale_table(render("all_green"))
    salt = rows[("salt", 10)]
    assert "tests/unit/data/results/scale/10-salt.json" in salt.text()  # the later run, not 10.json's
    assert scale_cell(salt, "apply").text() == "36.5 s"
    assert scale_cell(salt, "apply").attrs["data-status"] == "pass"
    assert "10/10 nodes fresh" in scale_cell(salt, "up").text()
    assert "50/50 checks" in scale_cell(salt, "verify").text()
    ansible = rows[("ansible", 25)]
    assert "tests/unit/data/results/scale/25-salt-ansible.json" in ansible.text()
    assert scale_cell(ansible, "apply").text() == "298 s"
    assert "125/125 checks" in scale_cell(ansible, "verify").text()
    custom = rows[("custom", 25)]
    assert "tests/unit/data/results/scale/25.json" in custom.text()
    assert scale_cell(custom, "ping").text() == "1.68 s"
    # With the reruns, every method passed every phase at every size.
    assert {c.attrs["data-status"] for r in rows.values() for c in r.find_all("td") if "data-status" in c.attrs} == {
        "pass"
    }


def test_a_phase_that_failed_at_scale_says_so(tmp_path: Path) -> None:
    scale = tmp_path / "scale"
    scale.mkdir()
    (scale / "10.json").write_text((DATA / "scale" / "10.json").read_text())
    out = render_comparison(DATA / "all_green.json", tmp_path / "page.html", bench_path=None, scale_dir=scale)
    rows = scale_table(Page(out.read_text(), parse(out.read_text())))
    apply = scale_cell(rows[("salt", 10)], "apply")
    assert apply.attrs["data-status"] == "fail"
    assert apply.text() == "49.7 s FAIL"
    assert scale_cell(rows[("salt", 10)], "orchestrate").attrs["data-status"] == "pass"


def test_the_pages_own_run_fills_a_size_no_scale_file_has(tmp_path: Path) -> None:
    scale = tmp_path / "scale"
    scale.mkdir()
    (scale / "10.json").write_text((DATA / "scale" / "10.json").read_text())
    out = render_comparison(DATA / "all_green.json", tmp_path / "page.html", bench_path=None, scale_dir=scale)
    page = Page(out.read_text(), parse(out.read_text()))
    rows = scale_table(page)
    assert list(rows) == [(m, n) for m in METHODS for n in (3, 10)]
    assert "tests/unit/data/results/all_green.json" in rows[("salt", 3)].text()
    assert scale_cell(rows[("salt", 3)], "apply").text() == "23.0 s"
    assert scale_cell(rows[("salt", 3)], "up").attrs["data-status"] == "pass"
    assert "3/3 nodes fresh" in scale_cell(rows[("salt", 3)], "up").text()


def test_a_scale_file_wins_over_the_pages_run_at_its_size(render: RenderFn) -> None:
    rows = scale_table(render("all_green"))  # all_green.json is a 3-node run, and so is scale/3.json
    assert "tests/unit/data/results/scale/3.json" in rows[("salt", 3)].text()


def test_one_size_is_a_table_without_a_chart(tmp_path: Path) -> None:
    scale = tmp_path / "scale"
    scale.mkdir()
    ten = scale / "10.json"
    ten.write_text((DATA / "scale" / "10.json").read_text())
    out = render_comparison(ten, tmp_path / "page.html", bench_path=None, scale_dir=scale)
    dom = parse(out.read_text())
    assert not dom.find_all("figure", id="chart-scale")
    assert len(dom.find("table", id="scale-table").find("tbody").find_all("tr")) == 3
    assert any("only one cluster size (10 nodes)" in p.text() for p in dom.find_all("p", class_="muted scale-note"))


def test_the_scale_table_prints_for_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """`make scale` ends with it: a line per method and size, a failed phase marked, in the page's order."""
    assert scale_main([str(DATA / "scale"), str(DATA / "all_green.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["method", "nodes", "up", "ping", "apply", "idempotence", "orchestrate", "verify"]
    assert [tuple(line.split()[:2]) for line in lines[1:]] == [(m, str(n)) for m in METHODS for n in SCALE_SIZES]
    assert lines[6].split()[:6] == ["ansible", "25", "84.5", "s", "6.3", "s"]
    failed = text_table(ScaleView("scale", tuple(rows_of([Record.of(r) for r in records("scale/10")], "10.json"))))
    assert "49.7 s FAIL" in failed.splitlines()[1]  # salt's apply at 10 nodes, before salt was fixed


def test_no_scale_runs_is_a_usage_error_saying_how_to_make_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        scale_main([str(tmp_path / "scale")])
    assert info.value.code == 2
    assert "no scale runs (make scale writes them)" in capsys.readouterr().err


def test_a_broken_scale_file_is_named_and_left_out(tmp_path: Path) -> None:
    scale = tmp_path / "scale"
    scale.mkdir()
    (scale / "10.json").write_text((DATA / "scale" / "10.json").read_text())
    (scale / "25.json").write_text("[{")
    (scale / "notes.json").write_text('{"not": "records"}')
    out = render_comparison(DATA / "all_green.json", tmp_path / "page.html", bench_path=None, scale_dir=scale)
    dom = parse(out.read_text())
    notes = " ".join(p.text() for p in dom.find_all("p", class_="muted scale-note"))
    assert "25.json: not valid JSON (line 1" in notes
    assert "notes.json: holds a JSON dict, not the list of records orka writes" in notes
    assert len(dom.find("table", id="scale-table").find("tbody").find_all("tr")) == 6


def test_no_scale_folder_no_scale_section(tmp_path: Path) -> None:
    out = render_comparison(
        DATA / "all_green.json", tmp_path / "page.html", bench_path=None, scale_dir=tmp_path / "none"
    )
    assert 'id="scale-table"' not in out.read_text()
    assert 'id="chart-scale"' not in out.read_text()


def test_of_two_runs_in_a_file_the_latest_is_the_point() -> None:
    ten = records("scale/10")
    older = [{**r, "run_id": "older", "recorded_at": "2026-01-01T00:00:00Z", "duration_s": 999.0} for r in ten]
    (salt, *_) = rows_of([Record.of(r) for r in older + ten], "10.json")
    assert salt.cell("apply").seconds == 49.715
    (salt_older, *_) = rows_of([Record.of(r) for r in older], "10.json")
    assert salt_older.cell("apply").seconds == 999.0


# -- bring-up and fresh nodes in the facts -------------------------------------------------------


def test_facts_say_each_methods_bring_up_and_that_its_nodes_were_fresh(tmp_path: Path) -> None:
    data = records("scale/10")
    for r in data:
        if (r["method"], r["phase"], r["node"]) == ("ansible", "up", "orka-node-4"):
            r.update(ok=False, failed=1, detail="already holds: /etc/orka, user orka")
    out = render_comparison(
        write_records(tmp_path / "r.json", data), tmp_path / "p.html", bench_path=None, scale_dir=None
    )
    facts = parse(out.read_text()).find("section", id="facts")
    salt = facts.find("tr", data_method="salt").find("td", class_="bring-up")
    assert salt.text() == "319 s 10/10 nodes fresh"
    assert salt.find("div").classes() == {"muted"}
    ansible = facts.find("tr", data_method="ansible").find("td", class_="bring-up")
    assert ansible.text() == "94.7 s 9/10 nodes fresh"
    assert ansible.find("div").classes() == {"why"}
    # A run recorded before `up` records were made says so.
    before_up = [r for r in records("all_green") if r["phase"] != "up"]
    older = render_comparison(
        write_records(tmp_path / "q.json", before_up), tmp_path / "q.html", bench_path=None, scale_dir=None
    )
    facts_older = parse(older.read_text()).find("section", id="facts")
    salt_older = facts_older.find("tr", data_method="salt").find("td", class_="bring-up")
    assert salt_older.text() == "not recorded"


def test_a_run_side_by_side_says_its_times_include_the_others_load(tmp_path: Path) -> None:
    data = [{**r, "condition": "side by side on 3 xdist workers"} for r in records("all_green")]
    out = render_comparison(
        write_records(tmp_path / "r.json", data), tmp_path / "p.html", bench_path=None, scale_dir=None
    )
    notice = parse(out.read_text()).find("p", id="run-conditions").text()
    assert "ran side by side on 3 xdist workers" in notice
    assert "serial run" in notice
    assert (
        'id="run-conditions"'
        not in render_comparison(
            DATA / "all_green.json", tmp_path / "q.html", bench_path=None, scale_dir=None
        ).read_text()
    )


# -- the page shows orka's verdict, not the tool's own word ------------------------

NODES = ("orka-node-1", "orka-node-2", "orka-node-3")


def _judged_page(tmp_path: Path, result: PhaseResult, expect: Expectations) -> Page:
    """all_green.json with one phase of one method replaced by `result`, judged and recorded as a run does."""
    keep = [r for r in records("all_green") if (r["method"], r["phase"]) != (result.method, result.phase)]
    context = RunContext(keep[0]["run_id"], 3, "docker", "salt 3008.4 (Argon)")
    new = records_of(result, context, judge(result, expect))
    out = render_comparison(
        write_records(tmp_path / "r.json", keep + new), tmp_path / "p.html", bench_path=None, scale_dir=None
    )
    text = out.read_text()
    return Page(text, parse(text))


def test_a_first_apply_that_changed_nothing_shows_fail_with_its_reason(tmp_path: Path) -> None:
    stdout = (DATA.parent / "salt" / "apply_second.json").read_text()
    tool = PhaseResult("salt", "apply", parse_apply(stdout, list(NODES), changes_fail=False), 4.1, exit_code=0)
    assert tool.ok, "salt itself says the apply went fine"

    page = _judged_page(tmp_path, tool, Expectations(NODES, tool="salt"))

    cell = page.cell("salt", "apply")
    assert cell.attrs["data-status"] == "fail"
    assert cell.text().count("a fresh node must be changed by the first apply, it was not") == 3
    failure = page.dom.find("div", id="failure-salt-apply")
    assert "orka-node-2" in failure.text()
    assert "every phase of every method that ran passed" not in page.section("failures").text()


def test_orchestrate_steps_swapped_and_overlapping_show_fail_with_both_reasons(tmp_path: Path) -> None:
    declared = ("publish cluster.json on the primary", "fetch cluster.json on the secondaries")
    swapped = ((declared[1], 100.0, 100.6), (declared[0], 100.4, 100.9))
    hosts = tuple(HostOutcome(n, ok=True, changed=1) for n in NODES)
    tool = PhaseResult("custom", "orchestrate", hosts, 0.9, order=swapped)
    assert tool.ok

    page = _judged_page(tmp_path, tool, Expectations(NODES, declared_steps=declared))

    cell = page.cell("custom", "orchestrate")
    assert cell.attrs["data-status"] == "fail"
    reasons = [div.text() for div in cell.find_all("div") if "reason" in div.classes()]
    assert reasons == [
        f"steps ran as {declared[1]} -> {declared[0]}; the orchestration declares {declared[0]} -> {declared[1]}",
        f"step {declared[0]} began 0.200 s before step {declared[1]} ended",
    ]


def test_verify_with_one_nodes_records_missing_shows_fail_naming_the_node(tmp_path: Path) -> None:
    data = [r for r in records("all_green") if not (r["phase"] == "verify" and r.get("node") == "orka-node-3")]
    out = render_comparison(
        write_records(tmp_path / "r.json", data), tmp_path / "p.html", bench_path=None, scale_dir=None
    )
    page = Page(out.read_text(), parse(out.read_text()))

    cell = page.cell("ansible", "verify")
    assert cell.attrs["data-status"] == "fail"
    bad = [li.text() for li in cell.find("details", class_="nodes").find_all("li") if "bad" in li.classes()]
    assert len(bad) == 1
    assert "orka-node-3" in bad[0]
    assert "no verify records of this node" in page.dom.find("div", id="failure-ansible-verify").text()


def test_records_of_an_older_orka_show_the_tools_result_and_say_so(tmp_path: Path) -> None:
    legacy = [{k: v for k, v in r.items() if k not in ("verdict", "reasons", "notes")} for r in records("all_green")]
    out = render_comparison(
        write_records(tmp_path / "r.json", legacy), tmp_path / "p.html", bench_path=None, scale_dir=None
    )
    cell = Page(out.read_text(), parse(out.read_text())).cell("salt", "apply")
    assert cell.attrs["data-status"] == "pass"
    assert "recorded by an older orka: the tool's own result, not orka's verdict" in cell.text()


# -- drift ---------------------------------------------------------------------


def test_the_drift_section_shows_what_each_method_found_and_repaired(render: RenderFn) -> None:
    """all_green's drift records are a real run's: every method found the example's four edits, reported
    nothing on the primary (left alone), repaired every node, and its checks passed again."""
    drift = render("all_green").section("drift")
    for method in METHODS:
        row = drift.find("tr", data_method=method, data_status="pass")
        cells = [td.text() for td in row.find_all("td")]
        assert cells[0] == "4 of 4", (method, cells)
        assert cells[1] == "0"
        assert cells[2] == "3 of 3"
        assert cells[5].strip() == "15/15"
    words = drift.find("tr", class_="drift-nodes", data_method="salt").text()
    assert "found unit orka-agent: stopped" in words
    assert "Service orka-agent is set to start" in words  # salt's own words
    primary = drift.find("tr", class_="drift-nodes", data_method="salt").find("li", data_node="orka-node-1")
    assert "left alone, nothing reported" in primary.text()


def test_a_drift_missed_and_a_node_not_repaired_show_as_failures(tmp_path: Path) -> None:
    data = records("all_green")
    for record in data:
        if record["method"] == "ansible" and record["phase"] == "drift" and record.get("node") == "orka-node-2":
            if record.get("check"):
                continue
            record["verdict"] = "fail"
            facts = record["facts"]
            facts["missed"], facts["found"] = [facts["found"][1]["drift"]], facts["found"][:1]
            facts["repaired"], facts["not_back"] = False, ["user orka"]
    out = render_comparison(
        write_records(tmp_path / "results.json", data), tmp_path / "page.html", bench_path=None, scale_dir=None
    )
    drift = Page(out.read_text(), parse(out.read_text())).section("drift")
    row = drift.find("tr", data_method="ansible", data_status="fail")
    assert row.find_all("td")[0].text() == "3 of 4"
    assert row.find_all("td")[2].text() == "2 of 3"
    words = " ".join(drift.find("tr", class_="drift-nodes", data_method="ansible").text().split())
    assert "missed user orka: deleted" in words
    assert "not back as before: user orka" in words
    assert drift.find("tr", data_method="salt", data_status="pass")

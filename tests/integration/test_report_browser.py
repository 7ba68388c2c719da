"""A real browser opens the comparison page from disk: Debian's chromium, headless.

The browser is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: NUL-separated JSON on the browser's fds 3 and 4),
so the test needs only the standard library and chromium: no websockets, no
Selenium, no Playwright. One session loads the page as a reader would
(file://, no server), and reports what a look at the page cannot: every
console message and uncaught exception, every request the page made (it must
make none but itself: the page is self-contained), the rendered size of the
matrix and of each chart, and a screenshot of the whole page, kept as
reports/comparison.png for the reviewer.

The browser has no network here to fall back on anyway: a proxy that refuses
and a resolver that finds nothing, so a page that needed the network would
show it, not hide it. A control page with a script error, a console error
and an external image checks that the probe sees what it must report.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orka.config import REPO_ROOT
from orka.methods import descriptor
from orka.report.page import render_comparison
from orka.results.fingerprint import changed, fingerprints_path, parse
from orka.results.record import PHASES
from tests.unit.test_report import bench_file

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("browser")]

DATA = REPO_ROOT / "tests" / "unit" / "data" / "results"
FINGERPRINTS = REPO_ROOT / "tests" / "unit" / "data" / "fingerprint"
SCREENSHOT = REPO_ROOT / "reports" / "comparison.png"
WIDTH = 1400
TIMEOUT_S = 60.0
FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    # No network to lean on: whatever the page tried to fetch fails, and is seen.
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
)
# What the page says about itself once rendered, measured by the browser.
PROBE = """JSON.stringify((() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {width: r.width, height: r.height}; };
  const matrix = document.querySelector('table.matrix');
  return {
    title: document.title,
    matrix: matrix ? box(matrix) : null,
    rows: [...document.querySelectorAll('table.matrix tbody tr')].map(r => r.dataset.method),
    cells: [...document.querySelectorAll('table.matrix td.cell')].map(c => ({
      method: c.dataset.method, phase: c.dataset.phase, status: c.dataset.status,
      label: c.querySelector('.status').textContent.trim(), ...box(c)})),
    charts: [...document.querySelectorAll('figure svg.chart')].map(s => ({id: s.closest('figure').id, ...box(s)})),
    failedNodesShown: [...document.querySelectorAll('td.cell.fail li.bad')].map(li => ({
      text: li.textContent.replace(/\\s+/g, ' ').trim(), ...box(li)})),
    scrollWidth: document.documentElement.scrollWidth,
    tables: Object.fromEntries(['scale-table', 'conditions-table'].map(id => {
      const t = document.getElementById(id);
      return [id, t ? {rows: t.querySelectorAll('tbody tr').length, ...box(t)} : null];
    })),
    equivalence: [...document.querySelectorAll('table.equivalence tbody tr')].map(r => ({
      pair: r.dataset.pair, status: r.dataset.status, text: r.textContent.replace(/\\s+/g, ' ').trim(), ...box(r)})),
    drift: [...document.querySelectorAll('table.drift tbody tr[data-status]')].map(r => ({
      method: r.dataset.method, status: r.dataset.status,
      text: r.textContent.replace(/\\s+/g, ' ').trim(), ...box(r)})),
    scrollHeight: document.documentElement.scrollHeight,
  };
})())"""


class DevToolsPipe:
    """A headless chromium and the DevTools protocol on its pipe."""

    def __init__(self, chromium: str, profile: Path, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser reads fd 3 and writes fd 4: bash puts the pipe's ends there, then becomes chromium. Both ends
        # are first moved to fd 10 or above, so no redirection overwrites the other (and dash takes no fd above 9).
        high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        script = f'exec "$0" "$@" 3<&{high_r} 4>&{high_w} {high_r}<&- {high_w}>&-'
        env = {**os.environ, "HOME": str(profile), "XDG_CONFIG_HOME": str(profile / "config")}
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                ["bash", "-c", script, chromium, *FLAGS, f"--user-data-dir={profile / 'data'}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                pass_fds=(high_r, high_w),
                env=env,
                start_new_session=True,  # its own process group: ended whole, and only it
            )
        os.close(high_r)
        os.close(high_w)
        self.log = log
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._next_id = 0

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chromium said nothing in time; its log: {self.log}")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium closed its pipe (exit {self.process.poll()}); its log: {self.log}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        data: dict[str, Any] = json.loads(message)
        return data

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = self._read(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        seen = 0
        while True:
            for message in self.events[seen:]:
                if message["method"] == event and message.get("sessionId") == session:
                    return message
            seen = len(self.events)
            message = self._read(deadline)
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
                self.process.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
            os.close(self._to_browser)
            os.close(self._from_browser)


@dataclass
class Visit:
    """What the browser saw of one page."""

    url: str
    probe: dict[str, Any]
    png: bytes
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return self.console + self.exceptions + self.log + self.failed_loads


def visit(browser: DevToolsPipe, page: Path) -> Visit:
    url = page.resolve().as_uri()
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", session=session)
    metrics = {"width": WIDTH, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
    browser.call("Emulation.setDeviceMetricsOverride", metrics, session)
    start = len(browser.events)
    browser.call("Page.navigate", {"url": url}, session)
    browser.wait_for("Page.loadEventFired", session)
    probe = json.loads(
        browser.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session)["result"]["value"]
    )
    # The whole page in one picture: a viewport as tall as the page.
    browser.call("Emulation.setDeviceMetricsOverride", {**metrics, "height": probe["scrollHeight"]}, session)
    shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
    seen = Visit(url, probe, base64.b64decode(shot["data"]))
    for event in browser.events[start:]:
        if event.get("sessionId") != session:
            continue
        params = event["params"]
        if event["method"] == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            seen.console.append(f"console.{params.get('type')}: {text}")
        elif event["method"] == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            seen.exceptions.append(
                f"uncaught: {details.get('exception', {}).get('description') or details.get('text')}"
            )
        elif event["method"] == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            seen.log.append(f"{entry['level']}: {entry['text']} {entry.get('url', '')}".strip())
        elif event["method"] == "Network.requestWillBeSent":
            seen.requests.append(params["request"]["url"])
        elif event["method"] == "Network.loadingFailed":
            seen.failed_loads.append(f"failed to load: {params.get('errorText')} ({params.get('type')})")
    browser.call("Target.closeTarget", {"targetId": target})
    return seen


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevToolsPipe]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium here: apt-get install -y chromium")
    session = DevToolsPipe(chromium, tmp_path / "chromium", tmp_path / "chromium.log")
    try:
        yield session
    finally:
        session.close()


def render(name: str, folder: Path) -> Path:
    """The page of a recorded input, with every section: the benchmark figures of this host if it has them
    (else a small set), the recorded scale runs and the recorded latency records, and fingerprints of real
    nodes (salt's and custom's the same, ansible's with its home's /etc/skel files: the example before its fix)."""
    bench = REPO_ROOT / "reports" / "bench_methods.json"
    if not bench.is_file():
        bench = bench_file(folder)
    results = folder / "results.json"
    shutil.copyfile(DATA / f"{name}.json", results)
    run_id = json.loads(results.read_text())[-1]["run_id"]
    salt, ansible = fingerprinted("salt"), fingerprinted("ansible")
    entries = [
        {"run_id": run_id, "scenario": "example", "method": method, "node": node, **left}
        for node in ("orka-node-1", "orka-node-2", "orka-node-3")
        for method, left in (("salt", salt), ("ansible", ansible), ("custom", salt))
    ]
    fingerprints_path(results).write_text(json.dumps(entries))
    return render_comparison(
        results,
        folder / "comparison.html",
        bench_path=bench,
        scale_dir=DATA / "scale",
        conditions_path=DATA / "latency.json",
    )


def fingerprinted(method: str) -> dict[str, Any]:
    fresh, after = (parse((FINGERPRINTS / f"{method}_{when}.txt").read_text()) for when in ("fresh", "applied"))
    ignore = [*descriptor(method).own_traces, "file /etc/orka/node.conf"]  # it names the method
    return {"after": after, "changed": changed(fresh, after), "ignore": ignore}


def keep_screenshot(png: bytes) -> None:
    """reports/comparison.png, replaced whole."""
    SCREENSHOT.parent.mkdir(exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=SCREENSHOT.parent, prefix=".comparison.png.")
    with os.fdopen(handle, "wb") as out:
        out.write(png)
    os.chmod(partial, 0o644)
    os.replace(partial, SCREENSHOT)


def test_the_page_opens_from_disk_whole_and_without_errors(browser: DevToolsPipe, tmp_path: Path) -> None:
    page = render("all_green", tmp_path)
    seen = visit(browser, page)
    keep_screenshot(seen.png)

    assert seen.problems() == [], seen.problems()
    assert seen.requests == [seen.url], "the page loaded more than itself"
    probe = seen.probe
    assert probe["title"].startswith("orka: salt vs ansible vs custom")
    # The matrix: three methods by seven phases (up to drift), all drawn; pyinfra, a method the recorded run
    # predates, has its row too, every cell "not run" (drawn apart from the cells that ran).
    assert probe["rows"] == ["salt", "ansible", "custom", "pyinfra"]
    assert len(probe["cells"]) == 4 * len(PHASES)
    ran = [c for c in probe["cells"] if c["method"] != "pyinfra"]
    assert len(ran) == 3 * len(PHASES)
    assert {(c["status"], c["label"]) for c in ran} == {("pass", "PASS")}
    assert {c["status"] for c in probe["cells"] if c["method"] == "pyinfra"} == {"not-run"}
    assert all(c["width"] > 100 and c["height"] > 50 for c in probe["cells"]), probe["cells"]
    assert probe["matrix"]["width"] > 1000
    # The charts: drawn at a readable size, not collapsed.
    charts = {c["id"]: c for c in probe["charts"]}
    assert set(charts) == {"chart-phases", "chart-scale", "chart-sizes"}
    assert all(c["width"] >= 600 and c["height"] >= 200 for c in charts.values()), charts
    # The scale and latency tables: every row drawn, within the page's width.
    tables = probe["tables"]
    assert tables["scale-table"]["rows"] == 9, tables  # 3 methods x 3, 10 and 25 nodes (data/results/scale/)
    assert tables["conditions-table"]["rows"] == 6, tables  # 3 methods x ping, idempotence
    assert all(0 < t["width"] <= WIDTH and t["height"] > 100 for t in tables.values()), tables
    # The equivalence: salt and custom identical, ansible's home's skeleton files listed against both.
    pairs = {row["pair"]: row for row in probe["equivalence"]}
    assert {p: row["status"] for p, row in pairs.items()} == {
        "salt-ansible": "different",
        "salt-custom": "identical",
        "ansible-custom": "different",
    }
    assert "orka-node-2 file /opt/orka/.bashrc: salt absent, ansible f orka:orka 0644" in pairs["salt-ansible"]["text"]
    assert "python3-apt" not in pairs["salt-ansible"]["text"], "ansible's own traces are no difference"
    assert all(row["width"] > 600 and row["height"] > 20 for row in pairs.values()), pairs
    # The drift: every method found the four hand edits, reported none on the primary, repaired every node.
    drift = {row["method"]: row for row in probe["drift"]}
    assert {m: row["status"] for m, row in drift.items()} == {"salt": "pass", "ansible": "pass", "custom": "pass"}
    assert all(row["text"].split()[1:7] == ["4", "of", "4", "0", "3", "of"] for row in drift.values()), drift
    assert all(row["width"] > 600 and row["height"] > 15 for row in drift.values()), drift
    # Nothing sticks out sideways at a common desktop width.
    assert probe["scrollWidth"] <= WIDTH
    # The screenshot is the whole page.
    assert png_size(seen.png) == (WIDTH, probe["scrollHeight"])
    assert SCREENSHOT.read_bytes() == seen.png


def test_a_failed_cell_shows_the_failing_node_at_once(browser: DevToolsPipe, tmp_path: Path) -> None:
    seen = visit(browser, render("one_node_failing", tmp_path))
    assert seen.problems() == [], seen.problems()
    statuses = {(c["method"], c["phase"]): c["label"] for c in seen.probe["cells"]}
    assert statuses[("ansible", "apply")] == "FAIL"
    assert statuses[("ansible", "ping")] == "PASS"
    # Visible without a click: a failed cell's node list is open.
    shown = [n for n in seen.probe["failedNodesShown"] if n["height"] > 0]
    assert shown
    assert all("orka-node-2" in n["text"] for n in shown)
    assert any("No package matching 'tree' is available" in n["text"] for n in shown)


def test_the_probe_sees_console_errors_exceptions_and_outside_requests(browser: DevToolsPipe, tmp_path: Path) -> None:
    """The control: a page that is broken in every way the real page must not be."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><p>bad</p>"
        '<img src="https://example.invalid/x.png">'
        '<script>console.error("boom-console"); throw new Error("boom-uncaught");</script>'
        "</body></html>"
    )
    seen = visit(browser, bad)
    assert any("boom-console" in line for line in seen.console), seen.console
    assert any("boom-uncaught" in line for line in seen.exceptions), seen.exceptions
    assert "https://example.invalid/x.png" in seen.requests
    assert seen.failed_loads

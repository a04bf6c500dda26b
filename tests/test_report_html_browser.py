"""The HTML report in a real browser: headless Chromium, networking disabled, file:// URL.

Checks that the leaderboard rows are there, every ``<img>`` decoded (naturalWidth > 0), the
table sorts on a (real, dispatched) mouse click, the hostile model name did not run (no dialog,
no global flag), and nothing asked for the network. A screenshot is saved to
``$POSEBENCH_ARTIFACTS`` (or the test's tmp_path) and its path printed.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 for
commands, fd 4 for replies, NUL-terminated JSON), so the test needs no Python package beyond
the standard library, and no chromedriver. Without a Chromium binary the test is skipped loudly
(a failure under ``POSEBENCH_REQUIRE_REFERENCES=1``, as the conftest ``reference()`` helper does
for reference tools). Debian: ``apt-get install -y chromium``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posebench.report import examiner as exm
from posebench.report import leaderboard as lb

DATA = Path(__file__).parent / "data" / "report"
RUNS = sorted(p for p in DATA.iterdir() if (p / "results.json").is_file())
EXAMINER = DATA / "examiner" / "raised-right-arm"  # a failure search: its gallery is shown too
HOSTILE = "<script>window.__pwned=1;alert(1)</script>"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HINT = "apt-get install -y chromium (Debian) or install Google Chrome"
DEADLINE_S = 60.0  # a hang guard, not a timing assertion


def browser_binary() -> str:
    """Path of a Chromium binary, or a loud skip (a failure under
    POSEBENCH_REQUIRE_REFERENCES=1)."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    msg = f"BROWSER MISSING: none of {', '.join(BROWSERS)} is on PATH; install: {HINT}"
    if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1":
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, profile: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def fds() -> None:  # in the child: the command pipe on fd 3, the reply pipe on fd 4
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            binary,
            "--headless=new",
            "--no-sandbox",  # CI containers run as root
            "--disable-gpu",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            # networking off: no DNS, a dead proxy, no background fetches
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--window-size=1280,1800",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args,
            pass_fds=(3, 4),  # kept open: fds() puts the pipes there before fds are closed
            preexec_fn=fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(cmd_r)
        os.close(resp_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from the browser")
            ready, _, _ = select.select([self._resp_r], [], [], left)
            if ready:
                chunk = os.read(self._resp_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed the pipe")
                self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        out: dict[str, Any] = json.loads(msg)
        return out

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its reply (events meanwhile go to ``events``)."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + DEADLINE_S
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                result: dict[str, Any] = m.get("result", {})
                return result
            self.events.append(m)

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._resp_r)


@pytest.fixture
def report_page(tmp_path: Path) -> Path:
    pytest.importorskip("jinja2", reason="the HTML report needs jinja2 (posebench[report])")
    pytest.importorskip("matplotlib", reason="the HTML report needs matplotlib")
    from posebench.report import html

    r = json.loads((DATA / "oracle-demo" / "results.json").read_text())
    r = copy.deepcopy(r)
    r["adapter"]["name"] = HOSTILE
    r["adapter"]["args"] = {"q": "\"'><img src=x onerror=window.__pwned=2>&amp;"}
    hostile = tmp_path / "hostile \"<run>&'"
    hostile.mkdir()
    (hostile / "results.json").write_text(json.dumps(r))
    runs = lb.load_runs([*RUNS, hostile, EXAMINER])
    tables = lb.build_tables(runs)
    page = tmp_path / "report.html"
    page.write_text(
        html.render(
            tables, "browser test", lb.separation_notes(tables), examiner=exm.sections(runs)
        )
    )
    return page


@pytest.fixture
def devtools(tmp_path: Path) -> Iterator[DevTools]:
    dt = DevTools(browser_binary(), tmp_path / "profile")
    try:
        yield dt
    finally:
        dt.close()


JS_ROWS = "document.querySelectorAll('table.sortable tbody tr').length"
JS_IMAGES = "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
JS_COLUMN = """(() => {
  const t = document.querySelectorAll('table.sortable')[%d];
  return Array.from(t.tBodies[0].rows).map(r => r.cells[%d].getAttribute('data-k'));
})()"""
JS_HEADER_CENTER = """(() => {
  const th = document.querySelectorAll('table.sortable')[%d].tHead.rows[0].cells[%d];
  th.scrollIntoView({block: 'center'});
  const r = th.getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2];
})()"""


def _eval(dt: DevTools, session: str, expr: str) -> Any:
    res = dt.send("Runtime.evaluate", session, expression=expr, returnByValue=True)
    if "exceptionDetails" in res:
        raise RuntimeError(f"{expr}: {res['exceptionDetails']}")
    return res["result"].get("value")


def _click(dt: DevTools, session: str, x: float, y: float) -> None:
    for kind in ("mousePressed", "mouseReleased"):
        dt.send(
            "Input.dispatchMouseEvent", session, type=kind, x=x, y=y, button="left", clickCount=1
        )


def _numbers(keys: list[str]) -> list[float]:
    return [float(k) for k in keys if k != ""]


def test_report_in_headless_chromium(report_page: Path, devtools: DevTools, tmp_path: Path) -> None:
    dt = devtools
    target = dt.send("Target.createTarget", url="about:blank")["targetId"]
    session = dt.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    dt.send("Page.enable", session)
    dt.send("Runtime.enable", session)
    dt.send("Network.enable", session)
    # any alert() would open a dialog (Page.javascriptDialogOpening); record calls as well
    dt.send(
        "Page.addScriptToEvaluateOnNewDocument",
        session,
        source="window.__alerts = []; window.alert = m => window.__alerts.push(String(m));",
    )
    dt.send("Page.navigate", session, url=report_page.as_uri())
    dt.wait_event("Page.loadEventFired")

    # every leaderboard row is there (one per run, the hostile one included)
    assert _eval(dt, session, JS_ROWS) == len(RUNS) + 1
    # the hostile name is shown as text, and did not run
    cells = _eval(
        dt, session, "Array.from(document.querySelectorAll('td')).map(c => c.textContent)"
    )
    assert any(HOSTILE in c for c in cells)
    assert _eval(dt, session, "window.__pwned === undefined") is True
    assert _eval(dt, session, "window.__alerts.length") == 0
    assert not [e for e in dt.events if e.get("method") == "Page.javascriptDialogOpening"]
    # every image decoded: all plots and examples rendered
    images = _eval(dt, session, JS_IMAGES)
    assert len(images) >= 10
    broken = [alt for complete, width, alt in images if not complete or width <= 0]
    assert not broken, broken
    # the failure search's gallery: every failure image and region sheet rendered
    modes = json.loads((EXAMINER / "results.json").read_text())["examiner"]["failure_modes"]
    gallery = [alt for _, _, alt in images if alt.startswith("agent ")]
    assert len(gallery) == 2 * len(modes)
    # nothing but the page itself and data: URIs was requested
    urls = [
        e["params"]["request"]["url"]
        for e in dt.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert all(u.startswith(("file:", "data:")) for u in urls), urls

    # sorting: the table with the most rows, by its third column (the headline value)
    counts = _eval(
        dt,
        session,
        "Array.from(document.querySelectorAll('table.sortable'))"
        ".map(t => t.tBodies[0].rows.length)",
    )
    ti = max(range(len(counts)), key=lambda i: counts[i])
    before = _numbers(_eval(dt, session, JS_COLUMN % (ti, 2)))
    assert len(before) >= 2
    assert before == sorted(before, reverse=True)
    x, y = _eval(dt, session, JS_HEADER_CENTER % (ti, 2))
    _click(dt, session, x, y)
    asc = _numbers(_eval(dt, session, JS_COLUMN % (ti, 2)))
    assert asc == sorted(before)
    _click(dt, session, x, y)
    assert _numbers(_eval(dt, session, JS_COLUMN % (ti, 2))) == sorted(before, reverse=True)
    # a text column sorts too
    x, y = _eval(dt, session, JS_HEADER_CENTER % (ti, 1))
    _click(dt, session, x, y)
    names = _eval(dt, session, JS_COLUMN % (ti, 1))
    assert names == sorted(names)

    dt.send("Runtime.evaluate", session, expression="window.scrollTo(0, 0)")
    shot = dt.send("Page.captureScreenshot", session, format="png")
    out_dir = Path(os.environ.get("POSEBENCH_ARTIFACTS") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report_html_browser.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"screenshot: {path}")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

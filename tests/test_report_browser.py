"""The HTML report opened in a real headless browser (Debian's chromium): rendered, screenshotted, inspected.

Skipped only when chromium is absent and this is not CI; ``.ci/run`` installs it
(``apt-get install -y chromium``), and with ``CI`` set a missing browser fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import openai  # noqa: F401 - imported once here, not again by every in-process pytester run
import pytest

CONFIG = """
version: 1
routes:
  extract:
    family: openai
    optimize: cost
    primary: gpt-5-mini
    fallbacks: [deepseek-v3.2-exp]
  chat:
    family: anthropic
    optimize: latency
    primary: claude-sonnet-4-6
    fallbacks: [claude-haiku-4-5]
  summarize:
    family: gemini
    optimize: reliability
    primary: gemini-2.5-flash
    fallbacks: [gemini-2.5-pro]
pricing:
  gpt-5-mini: {input: 0.25, output: 2.0}
  deepseek-v3.2-exp: {input: 2.8, output: 4.2}
  claude-sonnet-4-6: {input: 3.0, output: 15.0}
  claude-haiku-4-5: {input: 1.0, output: 5.0}
  gemini-2.5-flash: {input: 0.3, output: 2.5}
  gemini-2.5-pro: {input: 1.25, output: 10.0}
"""

APP = """
import logging
import pytest
from openai import OpenAI, APIStatusError

log = logging.getLogger("app")

@pytest.fixture(scope="module")
def client(anyint_gateway):
    return OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=1)

def extract(client, chain):
    for index, model in enumerate(chain):
        try:
            return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "vendor: ACME"}])
        except APIStatusError as exc:
            if exc.status_code < 500 or index + 1 == len(chain):
                raise
            log.warning("extract: %s failed with %s, falling back to %s", model, exc.status_code, chain[index + 1])

@pytest.mark.route("extract")
def test_extract(client, anyint_route):
    assert extract(client, [anyint_route.model])

@pytest.mark.route("extract", faults=[503])
def test_extract_falls_back(client, anyint_route):
    assert extract(client, [m.model for m in anyint_route.chain])

@pytest.mark.route("chat")
def test_chat(anyint_route):
    with anyint_route.client() as c:
        c.post("/v1/messages", json={"model": anyint_route.model, "max_tokens": 64,
               "messages": [{"role": "user", "content": "hello"}]}).raise_for_status()

@pytest.mark.route("summarize")
def test_summarize(anyint_route):
    with anyint_route.client() as c:
        answer = c.post(f"/v1beta/models/{anyint_route.model}:generateContent",
                        json={"contents": [{"role": "user", "parts": [{"text": "summarize"}]}]}).json()
    assert "pro" not in anyint_route.model, "the pro model answers in prose"
"""

HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,2400",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed, and CI must run the browser test: apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it and runs this test")


def run_browser(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *HEADLESS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(profile)},
    )


class Dom(HTMLParser):
    """The parts of the rendered page a reviewer looks at: tables with their rows, charts with their bars."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.charts: list[dict[str, str]] = []
        self.bars: list[tuple[str, str, str, str]] = []  # chart kind, route, model, value
        self.elements: set[str] = set()
        self.status: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.add(tag)
        if tag == "table":
            self.tables.append((a.get("data-table", ""), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "svg" and "data-chart" in a:
            self.charts.append(a)
        elif tag == "rect" and a.get("data-series") == "main":
            chart = self.charts[-1]
            self.bars.append((chart["data-chart"], chart["data-route"], a["data-model"], a["data-value"]))
        elif "data-status" in a:
            self.status = a["data-status"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1][1]:
            self.tables[-1][1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_html_report_renders_in_a_real_browser_with_tables_and_charts(project, tmp_path):
    browser = chromium()
    project.config(CONFIG)
    project.tests(test_app=APP)
    project.record().assert_outcomes(passed=6, failed=1)
    result = project.replay("--anyint-html=report/anyint.html")
    result.assert_outcomes(passed=6, failed=1)
    page = project.root / "report" / "anyint.html"
    html = page.read_text()

    # self-contained: nothing to fetch, nothing to run
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|\bsrc=|href=\"?https?:", html, re.I)

    shot = project.root / "report" / "anyint.png"  # kept beside the page for a look with --basetemp
    taken = run_browser(browser, tmp_path / "profile-shot", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), f"chromium took no screenshot: {taken.stderr[-2000:]}"
    width, height = png_size(shot)
    assert (width, height) == (1280, 2400) and shot.stat().st_size > 30_000  # a rendered page, not a blank one

    dumped = run_browser(browser, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = Dom()
    dom.feed(dumped.stdout)
    assert dom.status == "failed"
    assert not dom.elements & {"script", "img", "link", "iframe"}

    models = [rows for name, rows in dom.tables if name == "models"]
    assert [[row[0].split()[0] for row in rows[1:]] for rows in models] == [
        ["gpt-5-mini", "deepseek-v3.2-exp"],
        ["claude-sonnet-4-6", "claude-haiku-4-5"],
        ["gemini-2.5-flash", "gemini-2.5-pro"],
    ]
    header = models[0][0]
    assert header[:2] == ["model", "tests"] and "cost per call" in header and "latency p50 / p95" in header
    assert models[0][1][0].split()[:2] == ["gpt-5-mini", "primary"] and models[0][2][0].split()[:2] == ["deepseek-v3.2-exp", "fallback1"]
    pro = models[2][2]
    assert pro[header.index("tests")] == "1 of 1 failed"

    assert [(c["data-chart"], c["data-route"]) for c in dom.charts] == [
        ("cost", "extract"), ("latency", "extract"), ("cost", "chat"), ("latency", "chat"), ("cost", "summarize"), ("latency", "summarize"),
    ]
    cost_bars = {(route, model): float(value) for kind, route, model, value in dom.bars if kind == "cost"}
    assert cost_bars[("extract", "deepseek-v3.2-exp")] > cost_bars[("extract", "gpt-5-mini")] > 0
    assert len([bar for bar in dom.bars if bar[0] == "latency"]) == 6  # every model has recorded latency

    (paths,) = [rows for name, rows in dom.tables if name == "fallback-paths"]
    assert paths[1][:4] == ["extract", "gpt-5-mini → deepseek-v3.2-exp", "1", "HTTP 503"]
    (fallbacks,) = [rows for name, rows in dom.tables if name == "fallbacks"]
    assert fallbacks[1][:4] == [
        "test_extract_falls_back[extract-fault-503] test_app.py",
        "gpt-5-mini",
        "deepseek-v3.2-exp",
        "HTTP 503 (injected; policy: fall back)",
    ]
    (failed,) = [rows for name, rows in dom.tables if name == "failed-tests"]
    assert failed[1][0] == "test_summarize[summarize-fallback1-gemini-2.5-pro] test_app.py"
    text = dumped.stdout
    assert "Routing evidence" in text and "cheapest passing model: gpt-5-mini" in text
    assert "optimises for cost, but fallback deepseek-v3.2-exp costs" in text  # the flag

"""Pages of the local stack in a real browser: Debian's chromium driven by Playwright (no browser
is downloaded). `airflow_dag_screenshot` signs in to Airflow's UI with a token of the generated
admin login and captures a DAG's graph, as README shows it; `dashboard_pages` loads every page of
the dashboard and keeps what it shows (metrics, exceptions, a screenshot, its time to render)."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lakehouse.settings import Settings
from ops import airflow_stack

# Headless and quiet: without the background-networking flags Chromium keeps calling hosts a
# closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class BrowserError(RuntimeError):
    pass


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise BrowserError("no chromium on PATH: install Debian's package (apt-get install chromium)")
    return path


def airflow_token(settings: Settings) -> str:
    """An API token for user admin, from the password Airflow generated."""
    passwords = json.loads(airflow_stack.password_file(settings).read_text())
    request = urllib.request.Request(
        f"{airflow_stack.url(settings)}/auth/token", method="POST",
        data=json.dumps({"username": "admin", "password": passwords["admin"]}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def airflow_dag_screenshot(settings: Settings, dag_id: str, out: Path, run_id: str | None = None,
                           width: int = 1400, height: int = 700) -> Path:
    """A PNG of the DAG's graph (of `run_id`, or of its latest run) in Airflow's UI."""
    from playwright.sync_api import sync_playwright

    base = airflow_stack.url(settings)
    token = airflow_token(settings)
    page_url = f"{base}/dags/{dag_id}" + (f"/runs/{run_id}" if run_id else "")
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([{"name": "_token", "value": token, "url": base}])
            page = context.new_page()
            # the UI remembers the chosen view in local storage: ask for the graph
            page.goto(base)
            page.evaluate("() => { localStorage.setItem('default_dag_view', '\"graph\"'); }")
            page.goto(page_url)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(2000)
            page.screenshot(path=str(out))
        finally:
            browser.close()
    return out


# The dashboard's pages (dashboard/app.py) and their paths: the default page is served at /.
DASHBOARD_PAGES = {"sales": "", "products": "products", "anomalies": "anomalies", "operations": "operations",
                   "engagement": "engagement", "payments": "payments", "alerts": "alerts", "health": "health"}


@dataclass(frozen=True)
class PageCapture:
    page: str
    url: str
    seconds: float  # from asking for the page to its last element rendered, cold caches
    metrics: dict[str, str]  # each st.metric's label -> the value shown
    exceptions: list[str]  # the text of any exception Streamlit rendered
    text: str
    screenshot: Path


def dashboard_pages(base_url: str, out_dir: Path, timeout_ms: float = 120_000,
                    width: int = 1400, height: int = 1800) -> list[PageCapture]:
    """Load every dashboard page in headless Chromium, wait until Streamlit has finished the
    page's script, and keep what it shows: the metrics, any exception, a full-page PNG."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    captures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            for name, path in DASHBOARD_PAGES.items():
                started = time.monotonic()
                page.goto(f"{base_url}/{path}")
                page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout_ms)
                # the status widget shows while the script runs; the page is done when it is gone
                page.wait_for_function(
                    "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
                    " && !document.querySelector(\"[data-testid='stSpinner']\")",
                    timeout=timeout_ms, polling=200)
                seconds = time.monotonic() - started
                page.wait_for_timeout(1500)  # charts draw after the script's last element
                metrics = {
                    metric.get_by_test_id("stMetricLabel").inner_text().strip():
                        metric.get_by_test_id("stMetricValue").inner_text().strip()
                    for metric in page.get_by_test_id("stMetric").all()
                }
                exceptions = [e.inner_text() for e in page.get_by_test_id("stException").all()]
                shot = out_dir / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                captures.append(PageCapture(name, page.url, round(seconds, 2), metrics, exceptions,
                                            page.get_by_test_id("stMain").inner_text(), shot))
        finally:
            browser.close()
    return captures

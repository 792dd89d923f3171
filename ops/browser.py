"""Pages of the local stack in a real browser: Debian's chromium driven by Playwright (no browser
is downloaded). `airflow_dag_screenshot` signs in to Airflow's UI with a token of the generated
admin login and captures a DAG's graph, as README shows it."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from lakehouse.settings import Settings
from ops import airflow_stack


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
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
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

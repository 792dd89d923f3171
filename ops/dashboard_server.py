"""The dashboard (dashboard/app.py) served by Streamlit on 127.0.0.1 as a background process,
with its pid and log under $LAKEHOUSE_HOME/dashboard. The app reads the same settings as the
command that started it (the LAKEHOUSE_* variables)."""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass

from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from lakehouse.logs import get_logger
from lakehouse.settings import PROJECT_ROOT, Settings
from ops.daemons import Daemon

log = get_logger("dashboard")

APP = PROJECT_ROOT / "dashboard" / "app.py"
STREAMLIT = PROJECT_ROOT / ".venv" / "bin" / "streamlit"


class DashboardError(RuntimeError):
    pass


class _NotYet(DashboardError):
    pass


@dataclass(frozen=True)
class DashboardStatus:
    pid: int | None
    url: str
    log_path: str


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.dashboard_port}"


def _daemon(settings: Settings) -> Daemon:
    return Daemon("streamlit", settings.home / "dashboard", marker=str(APP).encode())


def status(settings: Settings) -> DashboardStatus:
    daemon = _daemon(settings)
    return DashboardStatus(daemon.pid(), url(settings), str(daemon.log_path))


def healthy(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"{url(settings)}/_stcore/health", timeout=5) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def start(settings: Settings, timeout: float = 60.0) -> DashboardStatus:
    """Serve the dashboard unless it runs; return once Streamlit answers. Idempotent."""
    if not STREAMLIT.exists():
        raise DashboardError(f"no {STREAMLIT}: run `make setup`")
    daemon = _daemon(settings)
    daemon.start([
        str(STREAMLIT), "run", str(APP),
        "--server.address", settings.listen_address, "--server.port", str(settings.dashboard_port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        # the app's files do not change under a running server; no watcher threads
        "--server.fileWatcherType", "none",
    ], env={**os.environ, **settings.environment()}, cwd=PROJECT_ROOT)

    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(0.5),
           retry=retry_if_exception_type(_NotYet), reraise=True)
    def wait() -> None:
        if daemon.pid() is None:
            raise DashboardError(f"streamlit exited at start; see {daemon.log_path}")
        if not healthy(settings):
            raise _NotYet(f"no answer at {url(settings)} within {timeout:.0f} s; see {daemon.log_path}")

    try:
        wait()
    except _NotYet as exc:
        raise DashboardError(str(exc)) from None
    log.info("dashboard_started", url=url(settings))
    return status(settings)


def stop(settings: Settings) -> bool:
    return _daemon(settings).stop()

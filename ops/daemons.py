"""Background processes the local stack runs (the broker, Airflow's components, live mode's
supervisor): started detached in a process group of their own, with a pid file and a log file,
and stopped by that pid. A pid is only taken for the daemon when its command line still holds
the daemon's marker, so a pid the system reused is never signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lakehouse.logs import get_logger

log = get_logger("daemons")


@dataclass(frozen=True)
class Daemon:
    name: str
    folder: Path
    # a piece of the process's command line that tells it from a process that reused its pid
    marker: bytes

    @property
    def pid_path(self) -> Path:
        return self.folder / f"{self.name}.pid"

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    def pid(self) -> int | None:
        """The daemon's pid while it runs, else None."""
        if not self.pid_path.exists():
            return None
        pid = int(self.pid_path.read_text().strip())
        if _gone(pid):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and self.marker not in cmdline.read_bytes():
            return None
        return pid

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> int:
        """Start the process unless it runs; return its pid (not waiting for it to be ready)."""
        pid = self.pid()
        if pid is not None:
            return pid
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            process = subprocess.Popen(
                list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True,
            )
        self.pid_path.write_text(str(process.pid))
        log.info("daemon_started", name=self.name, pid=process.pid, log_file=str(self.log_path))
        return process.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the daemon's process group, SIGKILL it after `timeout`; True if it ran."""
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout):
            _signal_group(pid, signal.SIGKILL)
            wait_gone(pid, 10.0)
        self.pid_path.unlink(missing_ok=True)
        log.info("daemon_stopped", name=self.name, pid=pid)
        return True


def hold(name: str, running: Callable[[], bool], stop: Callable[[], object],
         poll_seconds: float = 5.0) -> int:
    """Stay in the foreground while daemons run (a container's main process, whose exit the
    engine sees): 0 once SIGTERM or SIGINT asks to stop, 1 once `running` says one died, so a
    restart policy starts them again. Either way `stop` ends them all first."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    while not stopping.wait(poll_seconds):
        if not running():
            log.error("daemon_died", name=name)
            stop()
            return 1
    stop()
    log.info("daemons_stopped_on_signal", name=name)
    return 0


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _gone(pid: int) -> bool:
    """Has the process exited? When it is our own child (tests, the demo) its exit status is
    collected here, so it leaves no zombie; otherwise a zombie counts as gone (its parent
    collects it). Its /proc cmdline empties while it exits, so that is no sign of being gone."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return True
    except ChildProcessError:
        pass  # started by another command
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    if state not in ("Z", "X"):
        return False
    # It may have exited between the two looks: collect it if it is ours. A JVM's main thread
    # shows "Z" while its other threads still exit; our child is gone only once it is reaped.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # not ours: its parent collects it
    return reaped == pid

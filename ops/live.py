"""Live mode: the pipeline runs until stopped. `start` makes sure the broker runs, then starts a
supervisor in the background (`python -m ops.live`), which runs the producer at a steady rate
and the bronze and silver streams with processing-time triggers, each as a child process with
its log under $LAKEHOUSE_HOME/live. A child that exits is started again after a backoff that
doubles with each quick failure (1 s up to a minute) and resets once it ran a minute; a stream
resumes from its checkpoint, so its exactly-once holds across restarts. `stop` ends the
supervisor and its children by pid (SIGTERM to their process group).

The supervisor keeps its children's state in live/status.json: pid, starts, last exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.kafka_topics import ensure_topic
from lakehouse.logs import get_logger
from lakehouse.settings import PROJECT_ROOT, Settings, load_settings
from ops import local_kafka
from ops.daemons import Daemon

log = get_logger("live")

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
# A child that ran this long before it exited counts as healthy: its next backoff starts over.
HEALTHY_AFTER_SECONDS = 60.0


def next_backoff(previous: float, ran_seconds: float) -> float:
    """The wait before restarting a child that exited after `ran_seconds`: twice the previous
    wait (at most MAX_BACKOFF_SECONDS), or FIRST_BACKOFF_SECONDS after a healthy run."""
    if ran_seconds >= HEALTHY_AFTER_SECONDS:
        return FIRST_BACKOFF_SECONDS
    return min(previous * 2, MAX_BACKOFF_SECONDS)


def children(settings: Settings) -> dict[str, list[str]]:
    """Each supervised process and its command line: the CLIs README gives."""
    python = sys.executable
    stream = ["--trigger", "processing-time", "--interval", settings.live_trigger_interval]
    return {
        "producer": [python, "-m", "producer", "--forever", "--rate", str(settings.live_rate),
                     "--malformed-share", "0.01", "--duplicate-share", "0.01"],
        "bronze": [python, "-m", "spark_jobs.bronze", *stream],
        "silver": [python, "-m", "spark_jobs.silver", *stream],
    }


def supervisor(settings: Settings) -> Daemon:
    return Daemon("supervisor", settings.live_dir, marker=b"ops.live")


def status_path(settings: Settings) -> Path:
    return settings.live_dir / "status.json"


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    last_exit_code: int | None = None
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float = 0.0

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=PROJECT_ROOT)
        self.started_at = time.monotonic()
        self.starts += 1
        log.info("child_started", child=self.name, pid=self.process.pid, starts=self.starts)

    def check(self, now: float) -> None:
        """Restart the child when it has exited and its backoff has passed."""
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return
            self.last_exit_code, self.process = code, None
            ran = now - self.started_at
            self.backoff = next_backoff(self.backoff, ran)
            self.restart_at = now + self.backoff
            log.warning("child_exited", child=self.name, exit_code=code, ran_seconds=round(ran, 1),
                        restart_in_seconds=self.backoff, log_file=str(self.log_path))
        if now >= self.restart_at:
            self.start()

    def state(self) -> dict[str, object]:
        return {"pid": self.process.pid if self.process else None, "starts": self.starts,
                "last_exit_code": self.last_exit_code, "log": str(self.log_path)}


@dataclass
class Supervisor:
    settings: Settings
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: setattr(self, "stopping", True))
        self.settings.live_dir.mkdir(parents=True, exist_ok=True)
        self.children = [Child(name, argv, self.settings.live_dir / f"{name}.log")
                         for name, argv in children(self.settings).items()]
        log.info("supervisor_started", children=[child.name for child in self.children])
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                child.check(now)
            self._write_status()
            time.sleep(1.0)
        self._stop_children()

    def _write_status(self) -> None:
        path = status_path(self.settings)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({child.name: child.state() for child in self.children}))
        tmp.replace(path)

    def _stop_children(self, timeout: float = 30.0) -> None:
        running = [child.process for child in self.children if child.process is not None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for child in self.children:
            child.process = None
        self._write_status()
        log.info("supervisor_stopped")


@dataclass(frozen=True)
class LiveStatus:
    supervisor_pid: int | None
    children: dict[str, dict[str, object]]


def start(settings: Settings) -> LiveStatus:
    """Start the broker unless a broker answers, create the topic, then the supervisor unless it
    runs. Idempotent."""
    local_kafka.ensure(settings)
    ensure_topic(settings)
    daemon = supervisor(settings)
    daemon.start([sys.executable, "-m", "ops.live"], env={**os.environ, **settings.environment()},
                 cwd=PROJECT_ROOT)
    return status(settings)


def status(settings: Settings) -> LiveStatus:
    pid = supervisor(settings).pid()
    path = status_path(settings)
    states = json.loads(path.read_text()) if pid is not None and path.exists() else {}
    return LiveStatus(supervisor_pid=pid, children=states)


def stop(settings: Settings) -> bool:
    """Stop the supervisor and its children; True if it ran."""
    stopped = supervisor(settings).stop(timeout=45.0)
    status_path(settings).unlink(missing_ok=True)
    return stopped


def main() -> None:
    Supervisor(load_settings()).run()


if __name__ == "__main__":
    main()

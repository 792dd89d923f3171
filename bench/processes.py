"""Measured processes: start a stage as a subprocess, wait for it, and sample the resident
memory of its whole process tree (a PySpark job's Python process and its JVM child) while it
runs, beside every other process of the stack (the broker)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.figures import MIB

SAMPLE_SECONDS = 0.2


class StageFailed(RuntimeError):
    pass


def resident(process: psutil.Process) -> int:
    """A process's proportional set size: its private pages plus its share of the pages it
    shares. Plain RSS counts a shared page in every process that maps it, so a JVM forking a
    helper (Hadoop's local file system runs shell commands) looked twice its size for the
    moment the child lived, and every JVM mapping the same class archive counted all of it."""
    try:
        return process.memory_full_info().pss
    except (psutil.AccessDenied, AttributeError):  # no /proc/<pid>/smaps to read: RSS
        return process.memory_info().rss


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes (proportional set size) of a process and all its descendants (0 once it
    is gone)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += resident(member)
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass
class MemorySampler:
    """Samples every tracked process tree a few times a second; keeps each name's peak and the
    peak of their sum (the whole stack resident at one moment)."""

    peaks: dict[str, int] = field(default_factory=dict)
    stack_peak: int = 0
    _tracked: dict[str, psutil.Process] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def track(self, name: str, pid: int) -> None:
        with self._lock:
            self._tracked[name] = psutil.Process(pid)
        self.sample()

    def untrack(self, name: str) -> None:
        with self._lock:
            self._tracked.pop(name, None)

    def sample(self) -> None:
        with self._lock:
            tracked = dict(self._tracked)
        total = 0
        for name, process in tracked.items():
            rss = tree_rss(process)
            total += rss
            self.peaks[name] = max(self.peaks.get(name, 0), rss)
        self.stack_peak = max(self.stack_peak, total)

    def peaks_mib(self) -> dict[str, float]:
        return {name: rss / MIB for name, rss in self.peaks.items()}

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()


@dataclass
class Finished:
    name: str
    returncode: int
    seconds: float
    stdout: str
    stderr: str


class Stage:
    """One measured subprocess; its output goes to files under `log_dir`."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], cwd: Path,
                 log_dir: Path, sampler: MemorySampler) -> None:
        self.name = name
        self.sampler = sampler
        slug = name.replace(" ", "_").replace("/", "_")
        log_dir.mkdir(parents=True, exist_ok=True)
        self.out_path = log_dir / f"{slug}.out"
        self.err_path = log_dir / f"{slug}.err"
        self.started = time.monotonic()
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=err,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        sampler.track(name, self.process.pid)

    def wait(self, timeout: float | None = None) -> Finished:
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.terminate()
            raise StageFailed(
                f"{self.name} ran longer than {timeout:.0f}s; see {self.err_path}") from exc
        return self._finished(returncode)

    def terminate(self, grace: float = 20.0) -> Finished:
        """End the stage's process group (ours: it was started in a session of its own)."""
        if self.process.poll() is None:
            self.sampler.sample()
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._kill_leftovers()
        return self._finished(self.process.returncode)

    def _kill_leftovers(self) -> None:
        """A JVM child can outlive its Python parent for a moment: end what is left of the group."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _finished(self, returncode: int) -> Finished:
        seconds = time.monotonic() - self.started
        self.sampler.untrack(self.name)
        return Finished(self.name, returncode, seconds, self.out_path.read_text(errors="replace"),
                        self.err_path.read_text(errors="replace"))


def run_stage(name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log_dir: Path,
              sampler: MemorySampler, timeout: float = 3600) -> Finished:
    """Run one stage to its end; a non-zero exit raises with the end of its stderr."""
    finished = Stage(name, argv, env, cwd, log_dir, sampler).wait(timeout)
    if finished.returncode != 0:
        tail = "\n".join(finished.stderr.strip().splitlines()[-15:])
        raise StageFailed(f"{name} exited {finished.returncode}:\n{tail}")
    return finished

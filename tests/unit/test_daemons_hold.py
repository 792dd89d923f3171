"""`daemons.hold`, what `lakehouse airflow up --foreground` and `dashboard up --foreground` run
as a container's main process: it stops the daemons and says why it returned."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from ops import daemons


@pytest.fixture(autouse=True)
def restore_signal_handlers():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_daemon_that_dies_ends_the_hold_with_1_after_stopping_the_others():
    stopped = []
    looks = iter([True, True, False])
    assert daemons.hold("x", lambda: next(looks), lambda: stopped.append(True), poll_seconds=0.01) == 1
    assert stopped == [True]


def test_sigterm_ends_the_hold_with_0_after_stopping_the_daemons():
    stopped = []
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    assert daemons.hold("x", lambda: True, lambda: stopped.append(True), poll_seconds=0.05) == 0
    assert stopped == [True]

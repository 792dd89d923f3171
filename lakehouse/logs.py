"""Structured logs: one event a line, with fields, on stderr."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    global _configured
    if not _configured:
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.KeyValueRenderer(
                    key_order=["timestamp", "level", "component", "event"], drop_missing=True
                ),
            ],
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        _configured = True
    return structlog.get_logger(component=name)

"""What every page shares: the settings and the query source (one per process), cached query
results with a time-to-live, the sidebar's refresh control, and the empty and unavailable states a
panel shows instead of a stack trace."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard.sources import Source, TableUnavailable, source_for
from lakehouse.settings import Settings, load_settings

NO_DATA = "no data yet: run `make demo`"


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def source() -> Source:
    return source_for(settings())


@st.cache_data(ttl=settings().dashboard_cache_seconds, show_spinner="reading the lakehouse...")
def _result(name: str) -> tuple[pd.DataFrame, float, str]:
    started = time.monotonic()
    frame = source().run(name)
    return frame, time.monotonic() - started, datetime.now(UTC).strftime("%H:%M:%S UTC")


def query(name: str, empty: str = NO_DATA) -> pd.DataFrame | None:
    """The query's rows, or None after telling the reader why there are none: the table is
    not there yet, it cannot be read (which one and why), or it holds no rows."""
    try:
        frame, _, _ = _result(name)
    except TableUnavailable as exc:
        if exc.missing:
            st.info(f"{NO_DATA} ({exc.table}: {exc.why})")
        else:
            st.error(f"{exc.table} cannot be read: {exc.why}")
        return None
    if frame.empty:
        st.info(empty)
        return None
    return frame


def read_at(name: str) -> str | None:
    """When the query's cached rows were read, if they were."""
    try:
        return _result(name)[2]
    except TableUnavailable:
        return None


def sidebar() -> None:
    with st.sidebar:
        st.caption(f"profile **{settings().profile}**: {source().name}")
        st.caption(f"results are reused for {settings().dashboard_cache_seconds:.0f} s")
        if st.button("Refresh now", help="read the tables again"):
            _result.clear()
            st.rerun()


def money(value: float) -> str:
    return f"{value:,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def currency_choice(frame: pd.DataFrame, key: str) -> str:
    """A currency picker over the frame's currencies, the one with most revenue first."""
    by_revenue = frame.groupby("currency")["revenue"].sum().sort_values(ascending=False)
    return st.selectbox("Currency", list(by_revenue.index), key=key)

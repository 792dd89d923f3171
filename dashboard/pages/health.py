"""Pipeline health: how fresh silver is (its newest commit and newest event, against the
freshness thresholds), Kafka lag per streaming job, the books of each silver batch, quarantine
by reason, and gold's rows against silver's."""

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import health, panels

settings = panels.settings()
st.title("Pipeline health")


def gauge(fresh: health.Freshness) -> alt.LayerChart:
    """A bullet gauge: green, amber and red bands at the thresholds, and the age as a bar."""
    warn, error = settings.freshness_warn_hours, settings.freshness_error_hours
    top = max(error * 1.25, (fresh.age_hours or 0) * 1.05)
    bands = pd.DataFrame({"start": [0, warn, error], "end": [warn, error, top],
                          "level": ["fresh", "amber", "red"]})
    scale = alt.Scale(domain=list(health.LEVEL_COLOURS)[:3],
                      range=[health.LEVEL_COLOURS[level] for level in ("fresh", "amber", "red")])
    axis = alt.X("start:Q", title="hours", scale=alt.Scale(domain=[0, top]))
    background = alt.Chart(bands).mark_bar(opacity=0.25, height=36).encode(
        x=axis, x2="end:Q", color=alt.Color("level:N", scale=scale, legend=None))
    value = alt.Chart(pd.DataFrame({"start": [0.0], "end": [min(fresh.age_hours or 0, top)]})).mark_bar(
        height=12, color="#333").encode(x=axis, x2="end:Q")
    return (background + value).properties(height=60)


st.subheader("Freshness")
stamps = panels.query("silver_freshness")
if stamps is not None:
    now = datetime.now(UTC)
    row = stamps.iloc[0]
    for fresh in (health.freshness("newest silver commit", row["last_commit_at"], now,
                                   settings.freshness_warn_hours, settings.freshness_error_hours),
                  health.freshness("newest event in silver", row["newest_event_at"], now,
                                   settings.freshness_warn_hours, settings.freshness_error_hours)):
        colour = health.LEVEL_COLOURS[fresh.level]
        st.markdown(f"**{fresh.what}**: {health.human_age(fresh.age)} ago "
                    f":{colour}[**{fresh.level}**]"
                    + (f" ({fresh.at:%Y-%m-%d %H:%M:%S} UTC)" if fresh.at else ""))
        st.altair_chart(gauge(fresh), width="stretch")
    st.caption(f"amber from {settings.freshness_warn_hours:g} h, red from "
               f"{settings.freshness_error_hours:g} h (LAKEHOUSE_FRESHNESS_WARN_HOURS, _ERROR_HOURS)")

st.subheader("Kafka lag")
lag = health.read_lag(settings)
if lag.empty:
    st.info("no streaming metrics yet: the bronze and silver jobs write them "
            f"({', '.join(str(p) for p in health.metrics_paths(settings).values())})")
else:
    latest = lag.groupby("job").tail(1).set_index("job")
    for column, (job, batch) in zip(st.columns(len(latest)), latest.iterrows(), strict=True):
        column.metric(f"{job}: messages behind", panels.count(int(batch["kafka_lag"])),
                      help=f"after its batch at {batch['timestamp']:%Y-%m-%d %H:%M:%S}")
    st.altair_chart(
        alt.Chart(lag).mark_line(point=True).encode(
            x=alt.X("timestamp:T", title="batch"),
            y=alt.Y("kafka_lag:Q", title="messages behind", axis=alt.Axis(format=",d")),
            color="job:N", tooltip=["job:N", "timestamp:T", "kafka_lag:Q", "input_rows:Q",
                                    "batch_seconds:Q"]),
        width="stretch",
    )

st.subheader("Gold against silver")
counts = panels.query("row_counts")
if counts is not None:
    rows = dict(zip(counts["table_name"], counts["row_count"].astype(int), strict=True))
    for column, (table, n) in zip(st.columns(len(rows)), rows.items(), strict=True):
        column.metric(table, panels.count(n))
    behind = rows["silver.purchases"] - rows["gold.fct_purchases"]
    if behind == 0:
        st.success("gold holds every silver purchase")
    else:
        st.warning(f"gold is {panels.count(behind)} purchases behind silver: the next gold run "
                   "publishes them")

st.subheader("Books per silver batch")
st.caption("input rows = silver rows + quarantined + duplicates dropped + already present")
books = panels.query("books_per_batch")
if books is not None:
    unbalanced = int((books["unbalanced"] != 0).sum())
    left, right = st.columns(2)
    left.metric("Batches shown", panels.count(len(books)))
    right.metric("Batches whose books do not balance", panels.count(unbalanced))
    st.dataframe(books, hide_index=True, width="stretch")

st.subheader("Quarantine by reason")
reasons = panels.query("quarantine_by_reason", empty="nothing quarantined")
if reasons is not None:
    st.altair_chart(
        alt.Chart(reasons).mark_bar().encode(
            x=alt.X("row_count:Q", title="rows"),
            y=alt.Y("reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=400)),
            tooltip=["reason:N", "row_count:Q"]),
        width="stretch",
    )

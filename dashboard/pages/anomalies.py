"""Anomalies: the share of purchases the Isolation Forest flags, over time, and the flagged
purchases with the features that isolated them (top_features: the why)."""

import altair as alt
import streamlit as st

from dashboard import panels

st.title("Anomalies")

share = panels.query("anomaly_share_by_day", empty="no purchases scored yet: run `python -m ml`")
if share is not None:
    scored, flagged = int(share["scored"].sum()), int(share["flagged"].sum())
    left, middle, right = st.columns(3)
    left.metric("Purchases scored", panels.count(scored))
    middle.metric("Flagged", panels.count(flagged))
    right.metric("Flagged share", f"{100 * flagged / scored:.2f}%")
    st.altair_chart(
        alt.Chart(share).mark_line(point=True).encode(
            x=alt.X("event_date:T", title="day"),
            y=alt.Y("flagged_pct:Q", title="flagged (% of purchases)"),
            tooltip=["event_date:T", "scored:Q", "flagged:Q", "flagged_pct:Q"],
        ),
        width="stretch",
    )

st.subheader("Flagged purchases")
flagged_rows = panels.query("flagged_purchases", empty="no purchase is flagged yet")
if flagged_rows is not None:
    low, high = float(flagged_rows["anomaly_score"].min()), float(flagged_rows["anomaly_score"].max())
    left, right = st.columns(2)
    minimum = (left.slider("Lowest anomaly score", low, high, low, format="%.3f")
               if high > low else low)
    patterns = sorted(flagged_rows["leading_feature"].dropna().unique())
    chosen = right.multiselect("Leading feature (what isolated it most)", patterns, default=patterns)
    shown = flagged_rows[(flagged_rows["anomaly_score"] >= minimum)
                         & flagged_rows["leading_feature"].isin(chosen)]
    st.caption(f"{panels.count(len(shown))} of {panels.count(len(flagged_rows))} flagged purchases")
    st.dataframe(shown, hide_index=True, width="stretch")

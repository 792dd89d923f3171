"""Alerts: what the serving layer's rules (serving/rules.py) raised over the serving views, open
ones first, then the most recent ones with their resolution (serving.alerts)."""

import streamlit as st

from dashboard import panels

st.title("Alerts")
st.caption("Raised by `python -m serving alerts` (every 10 minutes in Airflow's purchases_serving): "
           "an alert opens when a rule's value passes its threshold and resolves when it falls back.")

recent = panels.query("recent_alerts", empty="no alert raised yet")
open_alerts = panels.query("open_alerts", empty="no open alert") if recent is not None else None
left, right = st.columns(2)
left.metric("Open alerts", panels.count(0 if open_alerts is None else len(open_alerts)))
right.metric("Recent alerts", panels.count(0 if recent is None else len(recent)))
if open_alerts is not None:
    st.subheader("Open")
    st.markdown("\n".join(
        f"- **{alert.rule}** {alert.subject}: {alert.value:g} (threshold {alert.threshold:g}), "
        f"since {alert.first_seen:%Y-%m-%d %H:%M} UTC"
        for alert in open_alerts.head(20).itertuples()))
    st.dataframe(open_alerts, hide_index=True, width="stretch")
if recent is not None:
    st.subheader("Recent")
    st.dataframe(recent, hide_index=True, width="stretch")

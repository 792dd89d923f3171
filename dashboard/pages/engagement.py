"""Engagement: the shopping funnel from the clickstream (sessions that viewed, added to the
cart, checked out and bought, joined to gold's purchases) and what social posts say about each
product (gold.agg_funnel_daily, gold.agg_product_mentions_daily)."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import panels

st.title("Engagement")

st.subheader("Shopping funnel")
st.caption("Sessions with a product, and how far they went; purchased: the session's purchase "
           "is in gold.fct_purchases.")
funnel = panels.query("funnel_by_category", empty="no sessions yet: run `make demo`")
if funnel is not None:
    steps = ["sessions", "viewed_product", "added_to_cart", "checked_out", "purchased"]
    totals = pd.DataFrame({"step": steps, "sessions": [int(funnel[step].sum()) for step in steps]})
    left, right = st.columns(2)
    left.metric("Sessions", panels.count(int(totals["sessions"].iloc[0])))
    right.metric("Conversion", f"{100 * totals['sessions'].iloc[-1] / totals['sessions'].iloc[0]:.2f}%")
    st.altair_chart(
        alt.Chart(totals).mark_bar().encode(
            x=alt.X("sessions:Q", title="sessions"),
            y=alt.Y("step:N", sort=steps, title=None),
            tooltip=["step:N", "sessions:Q"],
        ),
        width="stretch",
    )
    st.dataframe(funnel, hide_index=True, width="stretch")

st.subheader("Social mentions per product")
st.caption("Sentiment runs from -1 (negative) to 1 (positive), weighted by the day's mentions.")
mentions = panels.query("product_sentiment", empty="no mentions yet: run `make demo`")
if mentions is not None:
    st.metric("Mentions", panels.count(int(mentions["mentions"].sum())))
    st.dataframe(mentions.head(25), hide_index=True, width="stretch")

"""Sales: revenue, orders and average order value per currency; revenue by day and category;
cities by premium share; the top 10% of customers by lifetime value."""

import altair as alt
import streamlit as st

from dashboard import panels

st.title("Sales")

kpis = panels.query("sales_kpis")
if kpis is not None:
    st.caption(f"gold.fct_purchases, read at {panels.read_at('sales_kpis')}")
    for row in kpis.itertuples():
        revenue, orders, average = st.columns(3)
        revenue.metric(f"Revenue ({row.currency})", panels.money(row.revenue))
        orders.metric(f"Orders ({row.currency})", panels.count(row.orders))
        average.metric(f"Average order value ({row.currency})", panels.money(row.average_order_value))

st.subheader("Revenue by day and category")
daily = panels.query("revenue_by_day_and_category")
if daily is not None:
    currency = panels.currency_choice(daily, key="daily_currency")
    shown = daily[daily["currency"] == currency]
    st.altair_chart(
        alt.Chart(shown).mark_bar().encode(
            x=alt.X("event_date:T", title="day"),
            y=alt.Y("sum(revenue):Q", title=f"revenue ({currency})"),
            color=alt.Color("category:N"),
            tooltip=["event_date:T", "category:N", "revenue:Q", "orders:Q"],
        ),
        width="stretch",
    )

st.subheader("Cities by premium share")
st.caption("The share of a city's revenue from orders of 500 or more.")
cities = panels.query("city_premium_share")
if cities is not None:
    st.dataframe(cities.head(20), hide_index=True, width="stretch")

st.subheader("Top 10% of customers by lifetime value")
deciles = panels.query("customer_value_deciles")
if deciles is not None:
    top = deciles[deciles["value_decile"] == 1]
    if not top.empty:
        st.metric("Top decile's share of revenue", f"{float(top['revenue_share_pct'].iloc[0]):.1f}%")
customers = panels.query("top_customers")
if customers is not None:
    st.dataframe(customers, hide_index=True, width="stretch")

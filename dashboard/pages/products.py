"""Products: revenue against units per product for members and non-members, and the products
whose demand runs ahead of their own usual pace."""

import altair as alt
import streamlit as st

from dashboard import panels

st.title("Products")

st.subheader("Revenue against units: members and non-members")
st.caption("Each point is a product in one segment. The events carry no cost, so a margin "
           "cannot be derived: profitability is read as revenue against the units it took.")
products = panels.query("product_profitability")
if products is not None:
    currency = panels.currency_choice(products, key="products_currency")
    shown = products[products["currency"] == currency]
    st.altair_chart(
        alt.Chart(shown).mark_circle(size=70, opacity=0.7).encode(
            x=alt.X("units:Q", title="units sold"),
            y=alt.Y("revenue:Q", title=f"revenue ({currency})"),
            color=alt.Color("segment:N", title="segment"),
            tooltip=["product_name:N", "category:N", "segment:N", "units:Q", "revenue:Q", "orders:Q"],
        ).interactive(),
        width="stretch",
    )
    totals = shown.groupby("segment")[["orders", "units", "revenue"]].sum()
    totals["revenue per unit"] = (totals["revenue"] / totals["units"]).round(2)
    st.dataframe(totals, width="stretch")

st.subheader("Products under pressure")
st.caption("The events carry no stock levels. Pressure is a product's units in the last 24 hours "
           "of data against its daily average over the 7 days before: above 1, stock runs down "
           "faster than usual.")
pressure = panels.query("products_under_pressure")
if pressure is not None:
    rising = pressure[pressure["pressure_ratio"].fillna(0) > 1]
    st.metric("Products above their usual pace", panels.count(len(rising)))
    st.dataframe(pressure.head(25), hide_index=True, width="stretch")

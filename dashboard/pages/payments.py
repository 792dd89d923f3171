"""Payments: money moved per currency, the payments that settle gold's purchases, and the
accounts' days with a large transfer (gold.agg_account_daily)."""

import streamlit as st

from dashboard import panels

st.title("Payments")

by_currency = panels.query("transactions_by_currency", empty="no transactions yet: run `make demo`")
if by_currency is not None:
    left, middle, right = st.columns(3)
    left.metric("Transactions", panels.count(int(by_currency["transactions"].sum())))
    middle.metric("Payments for purchases", panels.count(int(by_currency["purchase_payments"].sum())))
    right.metric("Large transfers", panels.count(int(by_currency["large_transfers"].sum())))
    st.caption("Amounts stay in their own currency.")
    st.dataframe(by_currency, hide_index=True, width="stretch")

st.subheader("Days with a large transfer")
st.caption("An account's day with a transaction of at least the dbt var large_transfer_min_amount.")
large = panels.query("large_transfer_days", empty="no large transfer yet")
if large is not None:
    st.dataframe(large.head(50), hide_index=True, width="stretch")

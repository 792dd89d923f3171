"""The purchases lakehouse dashboard: `make dashboard` serves it on 127.0.0.1:8501
(`streamlit run dashboard/app.py`). Each page is a file under pages/; data access is in
panels.py (cached reads) over sources.py (pyiceberg + DuckDB locally, Athena on aws)."""

import streamlit as st

from dashboard import panels

st.set_page_config(page_title="Purchases lakehouse", page_icon=":material/storefront:", layout="wide")
page = st.navigation([
    st.Page("pages/sales.py", title="Sales", icon=":material/payments:", default=True),
    st.Page("pages/products.py", title="Products", icon=":material/inventory_2:"),
    st.Page("pages/anomalies.py", title="Anomalies", icon=":material/crisis_alert:"),
    st.Page("pages/operations.py", title="Operations", icon=":material/sensors:"),
    st.Page("pages/engagement.py", title="Engagement", icon=":material/ads_click:"),
    st.Page("pages/payments.py", title="Payments", icon=":material/account_balance:"),
    st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications_active:"),
    st.Page("pages/health.py", title="Pipeline health", icon=":material/monitor_heart:"),
])
panels.sidebar()
page.run()

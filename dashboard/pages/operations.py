"""Operations: the IoT sensors' readings against their normal ranges, and the API's errors and
latency per endpoint (gold.agg_sensor_readings_hourly, gold.agg_api_latency_minutely)."""

import altair as alt
import streamlit as st

from dashboard import panels

st.title("Operations")

st.subheader("Sensors out of their normal range")
st.caption("A reading outside its metric's normal range (dbt seed sensor_normal_ranges) counts "
           "as out of range.")
metrics = panels.query("sensor_out_of_range_by_metric", empty="no sensor readings yet: run `make demo`")
if metrics is not None:
    left, right = st.columns(2)
    left.metric("Sensor readings", panels.count(int(metrics["readings"].sum())))
    right.metric("Out of range", panels.count(int(metrics["out_of_range_readings"].sum())))
    st.altair_chart(
        alt.Chart(metrics).mark_bar().encode(
            x=alt.X("out_of_range_pct:Q", title="out of range (% of readings)"),
            y=alt.Y("metric:N", sort="-x", title=None),
            tooltip=["metric:N", "unit:N", "readings:Q", "out_of_range_readings:Q", "out_of_range_pct:Q"],
        ),
        width="stretch",
    )
    devices = panels.query("sensor_devices_out_of_range")
    if devices is not None:
        st.dataframe(devices.head(20), hide_index=True, width="stretch")

st.subheader("API endpoints")
st.caption("Server errors are responses with status 500 or above; p95 is the slowest minute's "
           "95th percentile latency.")
endpoints = panels.query("api_endpoints", empty="no API requests yet: run `make demo`")
if endpoints is not None:
    requests, errors = int(endpoints["requests"].sum()), int(endpoints["server_errors"].sum())
    left, right = st.columns(2)
    left.metric("API requests", panels.count(requests))
    right.metric("Server error share", f"{100 * errors / requests:.2f}%")
    st.dataframe(endpoints, hide_index=True, width="stretch")

"""Isolation Forest anomaly detection over gold purchases."""

"""Scheduled analytics (anomalies, ESCO savings, solar KPIs) read the store, never devices."""

"""Anomaly detection: site calendars, expected-consumption model, rules (see rules.py, model.py, pv.py)."""

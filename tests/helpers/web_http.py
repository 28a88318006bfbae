"""The web tests' building blocks over HTTP: two sites with a savings contract (:func:`web_settings`), a login
with the form's CSRF token (:func:`login`), and a constant-power counter written into a store
(:func:`write_counter`).  The running app is the ``served`` fixture (conftest.py).  Used by tests/test_web_http.py
and tests/test_web_carriers.py, so both import it from here rather than one test module from the other."""

from __future__ import annotations

import re

import httpx
import numpy as np
import pandas as pd
from web_support import PASSWORD, TZ

from energimon.config.settings import settings_from_dict
from energimon.model import Reading


def web_settings(tmp, **web):
    return settings_from_dict({
        "sites": {"a": {"name": "Sorø Rådhus", "address": "Rådhusvej 8", "latitude": 55.4, "longitude": 11.5},
                  "b": {"name": "Stenlille hallen", "latitude": 55.5, "longitude": 11.6}},
        "store": {"path": str(tmp / "store.db")},
        "esco": {"contract": "K", "esco": "E", "baseline_start": "2025-01-01", "baseline_end": "2026-01-01",
                 "measure_date": "2026-01-01",
                 "price_dkk_per_kwh": 2.0, "temperature": "a/vejr/outdoor_temp_c", "reports_dir": str(tmp / "rap"),
                 "normal_year": {"total": 2906, "source": "DTI"}, "sites": {"a": {"energy": "m/energy_import_wh"}}},
        "web": {"data_dir": str(tmp / "web"), **web},
    })


def csrf_token(client: httpx.Client, url: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)


def login(client: httpx.Client, base: str, password: str = PASSWORD, user: str = "energi@soroe.dk"):
    return client.post(f"{base}/login", data={"username": user, "password": password,
                                              "csrf": csrf_token(client, f"{base}/login")})


def write_counter(store, site, device, channel, role, start, end, kw, step="15min"):
    idx = pd.date_range(pd.Timestamp(start, tz=TZ), pd.Timestamp(end, tz=TZ), freq=step)
    hours = pd.Timedelta(step) / pd.Timedelta(hours=1)
    v = 1_000_000.0 + np.arange(len(idx)) * kw * 1000 * hours
    assert store.write([Reading(site, device, channel, role, int(t.value // 1_000_000), float(x))
                        for t, x in zip(idx, v, strict=True)]) == []

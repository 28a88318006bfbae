"""The ESCO savings contract (``[esco]``) applied to the store's data.

* :mod:`.settings` — the contract: baseline and measure dates, sites and their counters, guarantee, prices;
* :mod:`.inputs` — what the sites measured per local day, hour or month (energy from
  :mod:`energimon.store.energy`, outdoor temperature), and whether the baseline has enough of it;
* :mod:`.prices` — the price basis (fixed, per period, hourly price file, spot + tariffs) per reporting row;
* :mod:`.ledger` — the guarantee per contract year against realised savings;
* :mod:`.evaluation` — the baseline fit and the savings per model granularity (CalTRACK daily, TOWT hourly,
  CalTRACK billing) for one building and month: everything the savings report shows.
"""

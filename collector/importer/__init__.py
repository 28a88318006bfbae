"""Historical import: utility exports (Eloverblik/DataHub) and generic ``time,value`` CSV into the store.

* :mod:`.parse` — reading the files (pure: text in, rows out, every error names its line).
* :mod:`.counter` — interval energies become an energy counter, anchored on what the store already
  holds, so importing the same file again writes the same readings (idempotent) and consecutive
  files continue one counter.
* :mod:`.cli` — ``energimon import``.
"""

"""Wired M-Bus (EN 13757-2/-3) heat meters read through an M-Bus/TCP gateway.

* :mod:`.frames` — the link layer (EN 13757-2): the three requests the collector may send and the
  parsing of what comes back (single character, short and long frame, checksum).
* :mod:`.records` — the application layer (EN 13757-3): the fixed data header and the data records
  (DIF/DIFE/VIF/VIFE), values scaled exactly into SI units.
* :mod:`.heat` — which records of a heat meter's answer become which energimon channel.
* :mod:`.client` — the TCP connection to the gateway (read requests only).
* :mod:`.poller` — polling one meter into the spool: health, back-off, logs.
* :mod:`.settings` — ``[[devices]]`` with ``protocol = "mbus_tcp"``.

See ``collector/mbus/README.md``.
"""

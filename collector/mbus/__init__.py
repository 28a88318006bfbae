"""Wired M-Bus (EN 13757-2/-3) heat meters read through an M-Bus/TCP gateway or a serial M-Bus master.

* :mod:`.frames` — the link layer (EN 13757-2): the three requests the collector may send and the
  parsing of what comes back (single character, short and long frame, checksum).
* :mod:`.records` — the application layer (EN 13757-3): the fixed data header and the data records
  (DIF/DIFE/VIF/VIFE), values scaled exactly into SI units.
* :mod:`.heat` — which records of a heat meter's answer become which energimon channel.
* :mod:`.client` — the master's requests and answers (read requests only), over TCP to the gateway or
  over a serial port (pyserial).
* :mod:`.poller` — polling one meter into the spool: health, back-off, logs.
* :mod:`.settings` — ``[[devices]]`` with ``protocol = "mbus_tcp"`` or ``"mbus_serial"``.

See ``collector/mbus/README.md``.
"""

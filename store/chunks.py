"""A compact, lossless encoding of one series' readings (times and values) for the embedded store's old days.

A row per reading costs SQLite about 20-30 bytes (key, record header, cell pointer, page slack); InfluxDB's TSM
files hold the same readings in 2-5 bytes with delta-encoded times and XOR-encoded floats (the "Gorilla" scheme:
T. Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time Series Database", VLDB 2015).  This does the same
with numpy and zlib:

* times: the first one, then the differences (uint32 when they fit, else int64);
* values: each float64's bits XOR the previous value's bits (equal or close values give many zero bits);
* both byte-shuffled (all first bytes, then all second bytes …: the zero bytes line up in long runs, as in
  HDF5/Blosc's shuffle filter) and deflated with zlib (RFC 1950).

Exact: :func:`decode` gives back the same int64 times and the same float64 bits (NaN payloads, -0.0 included).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

VERSION = 1
_HEADER = struct.Struct("<BBIq")  # version, flags, n, first time (ms)
_WIDE = 1  # flag: time differences stored as int64 (some difference >= 2**32 ms)
LEVEL = 6  # zlib level: 9 saves < 1 % on this data and costs more time


def _shuffle(a: np.ndarray) -> bytes:
    return a.view(np.uint8).reshape(len(a), a.itemsize).T.tobytes()


def _unshuffle(b: bytes, dtype: str, n: int) -> np.ndarray:
    size = np.dtype(dtype).itemsize
    return np.frombuffer(b, np.uint8).reshape(size, n).T.copy().view(dtype).reshape(n)


def encode(ts_ms: np.ndarray, values: np.ndarray) -> bytes:
    """Times (int64 ms, strictly increasing) and values (float64) of one series as one compressed blob."""
    ts = np.ascontiguousarray(ts_ms, dtype=np.int64)
    v = np.ascontiguousarray(values, dtype=np.float64)
    n = len(ts)
    if n == 0 or len(v) != n:
        raise ValueError(f"need as many values as times (got {n} times, {len(v)} values), at least one")
    diffs = np.diff(ts)
    if np.any(diffs <= 0):
        raise ValueError("times must be strictly increasing")
    wide = n > 1 and int(diffs.max()) >= 2**32
    d = diffs.astype("<i8" if wide else "<u4")
    bits = v.view("<u8")
    xor = bits.copy()
    xor[1:] ^= bits[:-1]
    return _HEADER.pack(VERSION, _WIDE if wide else 0, n, int(ts[0])) + zlib.compress(
        _shuffle(d) + _shuffle(xor), LEVEL)


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The (times int64 ms, values float64) :func:`encode` was given."""
    version, flags, n, first = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise ValueError(f"chunk encoding version {version} is not known to this energimon version")
    raw = zlib.decompress(memoryview(blob)[_HEADER.size:])
    dtype = "<i8" if flags & _WIDE else "<u4"
    split = (n - 1) * np.dtype(dtype).itemsize
    ts = np.empty(n, np.int64)
    ts[0] = first
    if n > 1:
        ts[1:] = np.cumsum(_unshuffle(raw[:split], dtype, n - 1), dtype=np.int64) + first
    bits = np.bitwise_xor.accumulate(_unshuffle(raw[split:], "<u8", n))
    return ts, bits.view(np.float64)

# SPDX-License-Identifier: MIT
"""Human units for tables and chart axes: ns/µs/ms/s, B/KiB/MiB/GiB, counts
with thousands separators.

Owns: every number a person reads in a report. Must not: round a value that
goes into a statistic (statistics work on the raw numbers)."""

import math

_TIME = ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns"))
_BYTES = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def _sig(v, digits=3):
    """v with `digits` significant digits, no exponent, no trailing zeros."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    s = f"{v:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _scaled(v, table, last):
    """v in the largest unit of table it reaches: (scale, name) pairs from
    the largest down; `last` is the smallest unit's name."""
    if v is None:
        return "–"
    v = float(v)
    for scale, unit in table:
        if abs(v) >= scale:
            return f"{_sig(v / scale)} {unit}"
    return f"{_sig(v)} {last}"


def ns(v):
    """A duration given in nanoseconds: '850 ns', '1.23 µs', '2.5 s'."""
    return _scaled(v, _TIME, "ns")


def seconds(v):
    return ns(None if v is None else float(v) * 1e9)


def nbytes(v):
    """A size in bytes: '64 MiB', '1.5 GiB', '512 B'."""
    return _scaled(v, _BYTES, "B")


def count(v):
    """An integer count with separators: '12,345'. Non-integers keep 3
    significant digits ('72.5')."""
    if v is None:
        return "–"
    v = float(v)
    if v.is_integer() or abs(v) >= 1000:
        return f"{int(round(v)):,}"
    return _sig(v)


def rate(v, unit="/s"):
    """A rate: '1,234 /s', '12.3 /s', '3.2 k/s' is never used: counts stay exact."""
    if v is None:
        return "–"
    v = float(v)
    if abs(v) >= 100:
        return f"{int(round(v)):,}{unit}"
    return f"{_sig(v)}{unit}"


def mibps(v):
    if v is None:
        return "–"
    v = float(v)
    if abs(v) >= 1024:
        return f"{_sig(v / 1024)} GiB/s"
    return f"{_sig(v)} MiB/s"


def pct(v, signed=True):
    """A fraction as a percentage: 0.052 -> '+5.2%'."""
    if v is None or not math.isfinite(v):
        return "–"
    s = f"{v * 100:+.1f}%" if signed else f"{v * 100:.1f}%"
    return s


def pvalue(p):
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


# ---- matplotlib tick formatters (imported lazily by charts.py) ---------------

def ns_ticks(v, _pos=None):
    return ns(v)


def bytes_ticks(v, _pos=None):
    return nbytes(v)


def seconds_ticks(v, _pos=None):
    if v == 0:
        return "0"
    return seconds(round(v, 9))


def count_ticks(v, _pos=None):
    if abs(v) >= 1e6:
        return f"{_sig(v / 1e6)} M"
    if abs(v) >= 1e4:
        return f"{_sig(v / 1e3)} k"
    return count(v)

# SPDX-License-Identifier: MIT
"""The metrics of a run that reports tabulate and compare judges: each with
its direction (is higher better?) and how a person reads it.

Owns: the list. Must not: compute statistics (stats.py) or format (units.py)."""

from . import units

MIN_LATENCY_SAMPLES = 20


class Metric:
    __slots__ = ("name", "better", "fmt", "tail", "headline")

    def __init__(self, name, better, fmt, tail=False, headline=False):
        self.name = name
        self.better = better      # "higher" or "lower"
        self.fmt = fmt            # a units.* function
        self.tail = tail          # a tail percentile: twice the noise threshold
        self.headline = headline  # shown in summaries and first in tables


def run_metrics(run):
    """[(Metric, value)] for one run (None values left out)."""
    out = []
    met = run.metrics
    unit = met.get("unit") or "units"

    def add(m, v):
        if v is not None:
            out.append((m, float(v)))

    # The workload's unit of work first; calls per second beside it, unless
    # every call is one unit (alloc-churn's steps), when it says the same.
    has_unit = unit not in ("ops", "calls", "") and run.value("units_per_sec") is not None
    if has_unit:
        add(Metric(f"{unit}/s", "higher", units.rate, headline=True), run.value("units_per_sec"))
    if not has_unit or run.value("units") != run.value("ops"):
        add(Metric("ops/s", "higher", units.rate, headline=True), run.value("ops_per_sec"))
    # The workload's own headline values (results: "headline": [{name, better}]).
    wm = run.raw.get("workload_metrics") or {}
    for h in run.raw.get("headline") or []:
        if not isinstance(h, dict) or h.get("name") not in wm:
            continue
        v = wm.get(h["name"])
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            fmt = {"MiB/s": units.mibps, "ns": units.ns, "bytes": units.nbytes}.get(
                h.get("unit"), units.count)
            add(Metric(h["name"], "lower" if h.get("better") == "lower" else "higher", fmt,
                       headline=True), v)
    lat = run.raw.get("latency") or {}
    for kind, l in lat.items():
        if not isinstance(l, dict) or (l.get("count") or 0) < MIN_LATENCY_SAMPLES:
            continue
        add(Metric(f"{kind} p50", "lower", units.ns), l.get("p50_ns"))
        add(Metric(f"{kind} p99", "lower", units.ns, tail=True), l.get("p99_ns"))
    return out


def group_values(group):
    """{metric name: (Metric, [value per repetition])} over a group's runs, in
    the order the first run lists them."""
    vals, order = {}, []
    for r in group.runs:
        for m, v in run_metrics(r):
            if m.name not in vals:
                vals[m.name] = (m, [])
                order.append(m.name)
            vals[m.name][1].append(v)
    return {k: vals[k] for k in order}

# SPDX-License-Identifier: MIT
"""The charts of a report, drawn by matplotlib and returned as SVG text to
inline in the page (fonts as paths: the page needs nothing else).

Owns: every figure's look (sizes, colours, ticks in human units). Must not:
compute a statistic (stats.py) or decide what a page shows (html.py)."""

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import (FuncFormatter, Locator, LogLocator, MaxNLocator,  # noqa: E402
                               NullFormatter)

from . import stats, units  # noqa: E402

matplotlib.rcParams.update({
    "svg.fonttype": "path",
    "svg.hashsalt": "vidmm-bench",   # stable ids: the same input draws the same file
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.dpi": 100,
})

PALETTE = plt.get_cmap("tab10").colors
VERDICT_COLOR = {"regressed": "#c0392b", "improved": "#1e8449", "unchanged": "#7f8c8d",
                 "inconclusive": "#b7950b"}


def _svg(fig):
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    s = buf.getvalue()
    # Drop the XML prolog and DOCTYPE: the SVG is inlined in HTML.
    i = s.find("<svg")
    return s[i:] if i >= 0 else s


def _fmt(axis, f):
    axis.set_major_formatter(FuncFormatter(f))


class UnitLocator(Locator):
    """Ticks at round numbers of the unit the axis is read in (MiB, GiB, ms,
    ...), so a byte axis reads 16 MiB, 32 MiB rather than 19.1 MiB."""

    def __init__(self, scales, nbins=5):
        self.scales = scales
        self.inner = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 4, 5, 10])

    def __call__(self):
        lo, hi = self.axis.get_view_interval()
        return self.tick_values(lo, hi)

    def tick_values(self, vmin, vmax):
        top = max(abs(vmin), abs(vmax)) or 1
        scale = 1
        for s in self.scales:
            if top >= s:
                scale = s
        return [v * scale for v in self.inner.tick_values(vmin / scale, vmax / scale)]


BYTE_SCALES = (1, 1 << 10, 1 << 20, 1 << 30, 1 << 40)
TIME_S_SCALES = (1e-9, 1e-6, 1e-3, 1)
MIBPS_SCALES = (1, 1024)


def _bytes_axis(axis):
    axis.set_major_locator(UnitLocator(BYTE_SCALES))
    _fmt(axis, units.bytes_ticks)


def _seconds_axis(axis):
    axis.set_major_locator(UnitLocator(TIME_S_SCALES, nbins=7))
    _fmt(axis, units.seconds_ticks)


def _log_ns_axis(ax):
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_minor_formatter(NullFormatter())
    _fmt(ax.xaxis, units.ns_ticks)


def _shade_phases(ax, run):
    ph = run.raw.get("phases") or {}
    ws, we = ph.get("window_start_s"), ph.get("window_end_s")
    if isinstance(ws, (int, float)) and ws > 0:
        ax.axvspan(0, ws, color="0.85", alpha=0.5, lw=0)
    if isinstance(we, (int, float)):
        ts = (run.raw.get("time_series") or {}).get("t_s") or []
        end = max(ts) if ts else we
        if end > we:
            ax.axvspan(we, end, color="0.85", alpha=0.5, lw=0)


def _cdf(h):
    """x (ns, bucket upper bounds) and y (fraction <= x) of a histogram."""
    b = h.get("buckets") or []
    tot = sum(n for _, _, n in b) or 1
    xs, ys, acc = [], [], 0
    for lo, hi, n in b:
        acc += n
        xs.append(max(hi, 1))
        ys.append(acc / tot)
    return xs, ys


def latency_cdf(run):
    """Latency CDF per operation kind (log x): the client's calls and the
    workload's own operations left, the manager's internal timings right."""
    hs = run.raw.get("histograms") or {}
    client = [(k, h) for k, h in hs.items() if not k.startswith("vidmm_") and h.get("count")]
    inner = [(k, h) for k, h in hs.items() if k.startswith("vidmm_") and h.get("count")]
    panels = [p for p in ((client, "client calls and workload operations"),
                          (inner, "inside the manager")) if p[0]]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, (items, title) in zip(axes[0], panels):
        for i, (k, h) in enumerate(items):
            xs, ys = _cdf(h)
            ax.step(xs, ys, where="post", lw=1.4, color=plt.get_cmap("tab20").colors[i % 20],
                    label=f"{k} ({units.count(h['count'])})")
        _log_ns_axis(ax)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("latency")
        ax.set_ylabel("fraction of calls ≤ latency")
        ax.set_title(title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=7)
    return _svg(fig)


def timeline(run):
    """Throughput over time, and resident bytes per segment (one panel each,
    its capacity dashed); setup and teardown shaded."""
    ts = run.raw.get("time_series") or {}
    t = ts.get("t_s") or []
    if len(t) < 2:
        return None
    ops = ts.get("ops") or []
    res = ts.get("resident_bytes") or {}
    segs = {s.get("name"): s.get("total") for s in (run.raw.get("vidmm") or {}).get("segments", [])
            if isinstance(s, dict)}
    names = [n for n in res if any(res[n])] or list(res)[:1]
    idle = [n for n in res if n not in names]
    rows = 1 + len(names)
    fig, axes = plt.subplots(rows, 1, figsize=(7.2, 1.9 + 1.25 * len(names)), sharex=True,
                             gridspec_kw={"height_ratios": [1.5] + [1] * len(names)})
    axes = list(axes) if rows > 1 else [axes]
    ax = axes[0]
    if len(ops) == len(t):
        rate = [0.0] + [max(0.0, (ops[i] - ops[i - 1]) / max(t[i] - t[i - 1], 1e-9))
                        for i in range(1, len(t))]
        ax.plot(t, rate, color=PALETTE[0], lw=1.3)
    _shade_phases(ax, run)
    ax.set_ylabel("ops/s")
    _fmt(ax.yaxis, units.count_ticks)
    ax.set_title("throughput and residency over time (grey: outside the measured window)")
    for i, n in enumerate(names):
        a = axes[1 + i]
        a.plot(t, res[n], color=PALETTE[(i + 1) % 10], lw=1.3)
        cap = segs.get(n)
        if cap:
            a.axhline(cap, color="0.3", ls="--", lw=0.9)
            a.set_ylim(0, cap * 1.08)
        _shade_phases(a, run)
        a.set_ylabel(n, rotation=0, ha="right", va="center")
        a.yaxis.set_major_locator(UnitLocator(BYTE_SCALES, nbins=3))
        _fmt(a.yaxis, units.bytes_ticks)
    axes[-1].set_xlabel("time since the run started")
    _seconds_axis(axes[-1].xaxis)
    if idle:
        axes[-1].annotate("no client bytes resident in: " + ", ".join(idle),
                          xy=(0, -0.55), xycoords="axes fraction", fontsize=8, color="0.35")
    return _svg(fig)


def swap_timeline(run):
    """Swap file bytes in use, and swap-out/-in traffic per second."""
    ts = run.raw.get("time_series") or {}
    t = ts.get("t_s") or []
    used = ts.get("swap_bytes") or []
    if len(t) < 2 or not any(used or [0]) and not any(ts.get("swap_out_bytes") or [0]):
        return None
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    if len(used) == len(t):
        ax.fill_between(t, used, color=PALETTE[4], alpha=0.25, lw=0, label="swap file in use")
        ax.plot(t, used, color=PALETTE[4], lw=1.1)
    _bytes_axis(ax.yaxis)
    ax.set_ylabel("in use")
    ax2 = None
    for key, col, lab in (("swap_out_bytes", PALETTE[3], "swapped out /s"),
                          ("swap_in_bytes", PALETTE[2], "swapped in /s")):
        cum = ts.get(key)
        if cum and len(cum) == len(t):
            if ax2 is None:
                ax2 = ax.twinx()
                ax2.grid(False)
                ax2.spines["right"].set_visible(True)
            r = [0.0] + [max(0.0, (cum[i] - cum[i - 1]) / max(t[i] - t[i - 1], 1e-9))
                         for i in range(1, len(t))]
            ax2.plot(t, r, color=col, lw=1.2, label=lab)
    if ax2 is not None:
        ax2.yaxis.set_major_locator(UnitLocator(BYTE_SCALES))
        _fmt(ax2.yaxis, lambda v, p=None: units.nbytes(v) + "/s")
        ax2.legend(loc="upper right")
    _shade_phases(ax, run)
    ax.legend(loc="upper left")
    _seconds_axis(ax.xaxis)
    ax.set_xlabel("time since the run started")
    ax.set_title("swap traffic")
    return _svg(fig)


def faults(run):
    """Fault counters over time (cumulative): page-outs, page-ins, allocation
    failures, dummy-page faults."""
    ts = run.raw.get("time_series") or {}
    t = ts.get("t_s") or []
    keys = [("page_outs", "page-outs"), ("page_ins", "page-ins"),
            ("alloc_failures", "allocation failures"), ("dummy_page_faults", "dummy-page faults")]
    series = [(lab, ts.get(k)) for k, lab in keys if ts.get(k) and len(ts.get(k)) == len(t)]
    if len(t) < 2 or not series:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    for i, (lab, s) in enumerate(series):
        ax.plot(t, s, lw=1.3, color=PALETTE[i], label=f"{lab} ({units.count(s[-1])})")
    if max(max(s) for _, s in series) > 0:
        ax.set_yscale("symlog", linthresh=10)
    _fmt(ax.yaxis, units.count_ticks)
    _seconds_axis(ax.xaxis)
    _shade_phases(ax, run)
    ax.set_xlabel("time since the run started")
    ax.set_ylabel("count so far")
    ax.set_title("fault counters")
    ax.legend(loc="upper left")
    return _svg(fig)


def paging_by_size(run):
    """Page-out and page-in throughput by allocation size (the `paging`
    workload's main result)."""
    wm = run.raw.get("workload_metrics") or {}
    sizes = [s for s in ("small", "mid", "large") if f"page_out_mib_per_s_{s}" in wm]
    if not sizes:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    x = range(len(sizes))
    w = 0.38
    out = [wm.get(f"page_out_mib_per_s_{s}") or 0 for s in sizes]
    inn = [wm.get(f"page_in_mib_per_s_{s}") or 0 for s in sizes]
    ax.bar([i - w / 2 for i in x], out, w, color=PALETTE[3], label="page-out")
    ax.bar([i + w / 2 for i in x], inn, w, color=PALETTE[2], label="page-in")
    labels = []
    for s in sizes:
        b = wm.get(f"size_bytes_{s}")
        labels.append(f"{s}\n{units.nbytes(b)}" if b else s)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels)
    ax.yaxis.set_major_locator(UnitLocator(MIBPS_SCALES))
    _fmt(ax.yaxis, lambda v, p=None: units.mibps(v))
    ax.set_ylabel("throughput")
    ax.set_title(f"paging throughput by size ({run.config['paging_mode']} paging)")
    ax.legend()
    return _svg(fig)


def group_strip(groups, metric_name, values_of):
    """One metric across the run groups of a suite: every repetition a dot,
    the median a bar, its 95% interval a line (log x: groups differ by
    orders of magnitude)."""
    rows = []
    for g in groups:
        v = values_of(g)
        if v:
            rows.append((g.label, v))
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 0.5 + 0.32 * len(rows)))
    for i, (lab, v) in enumerate(rows):
        y = len(rows) - 1 - i
        ax.scatter(v, [y] * len(v), s=14, color=PALETTE[0], alpha=0.7, zorder=3)
        ci = stats.median_ci(v)
        if ci:
            med, lo, hi, _ = ci
            ax.plot([lo, hi], [y, y], color="0.2", lw=1.2, zorder=2)
            ax.plot([med, med], [y - 0.3, y + 0.3], color="0.1", lw=2, zorder=4)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([lab for lab, _ in reversed(rows)])
    vals = [x for _, v in rows for x in v if x > 0]
    if vals and max(vals) / max(min(vals), 1e-12) > 30:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    _fmt(ax.xaxis, units.count_ticks)
    ax.set_title(f"{metric_name}: every repetition (dots), median and 95% interval")
    ax.grid(axis="y", alpha=0)
    return _svg(fig)


def micro(doc):
    """Google Benchmark results: time per iteration, median of the
    repetitions with its interval (log x)."""
    names = doc.order
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 0.6 + 0.26 * len(names)))
    for i, n in enumerate(names):
        v = doc.bench[n]
        y = len(names) - 1 - i
        med, lo, hi, _ = stats.median_ci(v)
        ax.barh(y, med, color=PALETTE[0], alpha=0.6, height=0.6)
        if len(v) > 1:
            ax.plot([lo, hi], [y, y], color="0.15", lw=1.2)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(list(reversed(names)), fontsize=7)
    _log_ns_axis(ax)
    ax.set_xlabel("time per iteration (median of repetitions, 95% interval)")
    ax.set_title("microbenchmarks")
    ax.grid(axis="y", alpha=0)
    return _svg(fig)


def forest(rows, threshold):
    """compare: the change of every metric with its 95% interval, coloured by
    verdict; the noise band shaded."""
    rows = [r for r in rows if r.res["change"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 0.7 + 0.24 * len(rows)))
    lim = 0.0
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        c = r.res["change"]
        col = VERDICT_COLOR[r.verdict]
        if r.res["ci"]:
            lo, hi = r.res["ci"]
            ax.plot([lo * 100, hi * 100], [y, y], color=col, lw=1.4)
            lim = max(lim, abs(lo), abs(hi))
        ax.plot([c * 100], [y], "o", color=col, ms=4)
        lim = max(lim, abs(c))
    ax.axvspan(-threshold * 100, threshold * 100, color="0.9", lw=0)
    ax.axvline(0, color="0.4", lw=0.8)
    lim = min(max(lim * 110, threshold * 300), 1000)
    ax.set_xlim(-lim, lim)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r.group}: {r.metric.name}" for r in reversed(rows)], fontsize=7)
    _fmt(ax.xaxis, lambda v, p=None: f"{v:+.0f}%")
    ax.set_xlabel("change of the median, new vs base (95% bootstrap interval; grey: noise "
                  "threshold)")
    ax.set_title("every compared metric")
    ax.grid(axis="y", alpha=0)
    return _svg(fig)


def before_after(rows):
    """compare, criterion's style: for each changed metric, the base and new
    repetitions side by side with their medians and intervals."""
    rows = rows[:24]
    if not rows:
        return None
    cols = min(3, len(rows))
    nr = math.ceil(len(rows) / cols)
    fig, axes = plt.subplots(nr, cols, figsize=(2.5 * cols, 2.1 * nr), squeeze=False)
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, rows):
        for x, vals, col in ((0, r.base_vals, PALETTE[7]), (1, r.new_vals, VERDICT_COLOR[r.verdict])):
            ax.scatter([x] * len(vals), vals, s=12, color=col, alpha=0.75, zorder=3)
            ci = stats.median_ci(vals)
            if ci:
                med, lo, hi, _ = ci
                ax.plot([x + 0.15, x + 0.15], [lo, hi], color="0.2", lw=1.2)
                ax.plot([x - 0.2, x + 0.2], [med, med], color="0.1", lw=1.8)
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["base", "new"])
        ax.set_xlim(-0.5, 1.5)
        _fmt(ax.yaxis, lambda v, p=None, f=r.metric.fmt: f(v))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.set_title(f"{r.group}\n{r.metric.name}: {units.pct(r.res['change'])}", fontsize=8)
        ax.grid(axis="x", alpha=0)
    fig.tight_layout()
    return _svg(fig)


def analyze(doc):
    """`vidmm-bench analyze`: bytes moved against capacity, a line per policy,
    the lower bound (FOO-L) as a dashed black line, PFOO-L dotted."""
    caps = doc.caps
    x = [c["capacity"] for c in caps]
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    for i, p in enumerate(doc.policies):
        ys = [c["moved"].get(p) for c in caps]
        pts = [(a, b) for a, b in zip(x, ys) if b is not None]
        if not pts:
            continue
        style = dict(color=PALETTE[i % len(PALETTE)], marker="o", ms=4, lw=1.4)
        if p == "belady":
            style.update(color="0.2", marker="s", lw=1.8)
        ax.plot([a for a, _ in pts], [b for _, b in pts], label=p, **style)
    for key, label, ls in (("bound", "lower bound (FOO-L)", "--"), ("pfoo", "PFOO-L", ":")):
        pts = [(c["capacity"], c[key]) for c in caps if c[key] is not None]
        if pts:
            ax.plot([a for a, _ in pts], [b for _, b in pts], color="black", ls=ls, lw=1.2,
                    label=label)
    _bytes_axis(ax.xaxis)
    _bytes_axis(ax.yaxis)
    ax.set_xlabel("capacity (local memory)")
    ax.set_ylabel("bytes paged out + in")
    ax.set_ylim(bottom=0)
    ax.set_title("bytes moved by each eviction policy")
    ax.legend(ncol=2)
    return _svg(fig)

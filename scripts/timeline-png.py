#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Draw a window of a `--timeline` file as a PNG: one lane per thread (its
slices stacked by depth, as Perfetto shows them), and the segment counters
below. For a look where Perfetto's UI cannot be reached (offline machines,
documentation); Perfetto (ui.perfetto.dev) reads the same file.

usage: /usr/bin/python3 scripts/timeline-png.py TIMELINE.json OUT.png
           [--from MS] [--to MS] [--title TEXT]

Owns: nothing but the drawing. Must not: be needed to read a timeline."""

import argparse
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {
    "page-in": "#1f77b4", "page-out": "#d62728", "page-in copy": "#6baed6",
    "page-out copy": "#fc9272", "clear": "#bdbdbd", "job": "#74c476",
    "submit": "#9e9ac8", "create_allocation": "#fdae6b", "destroy_allocation": "#fdd0a2",
    "swap-in": "#8c6d31", "swap-out batch": "#bd9e39", "reclaim pass": "#e7ba52",
    "wait_fence": "#dadaeb", "lock": "#e377c2", "unlock": "#f7b6d2",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("timeline")
    ap.add_argument("out")
    ap.add_argument("--from", dest="t0", type=float, default=None, help="ms from the start")
    ap.add_argument("--to", dest="t1", type=float, default=None, help="ms from the start")
    ap.add_argument("--title", default=None)
    a = ap.parse_args()
    try:
        with open(a.timeline) as f:
            doc = json.load(f)
        ev = doc["traceEvents"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"timeline-png: {a.timeline}: not a timeline file ({e})", file=sys.stderr)
        return 2
    names, slices, counters = {}, defaultdict(list), defaultdict(list)
    open_b = defaultdict(list)
    for e in ev:
        ph, tid = e.get("ph"), e.get("tid")
        if ph == "M" and e.get("name") == "thread_name":
            names[tid] = e["args"]["name"]
        elif ph == "X":
            slices[tid].append((e["ts"], e["ts"] + e.get("dur", 0), e.get("name", "")))
        elif ph == "B":
            open_b[tid].append(e)
        elif ph == "E" and open_b[tid]:
            b = open_b[tid].pop()
            slices[tid].append((b["ts"], e["ts"], b.get("name", "")))
        elif ph == "C" and e.get("name", "").startswith("segment 0"):
            counters["used"].append((e["ts"], e["args"].get("used", 0)))
    if not slices:
        print("timeline-png: no slices in the file", file=sys.stderr)
        return 2
    lo = min(s[0] for v in slices.values() for s in v)
    hi = max(s[1] for v in slices.values() for s in v)
    t0 = a.t0 * 1000 if a.t0 is not None else lo
    t1 = a.t1 * 1000 if a.t1 is not None else hi
    if t1 <= t0:
        print("timeline-png: --to must be after --from", file=sys.stderr)
        return 2
    order = sorted(slices, key=lambda t: (names.get(t, "") != "runs",
                                          not names.get(t, "").startswith("vidmm-w"),
                                          names.get(t, str(t))))
    lanes = []  # (label, [(start, end, name, depth)])
    for tid in order:
        vis = sorted((s for s in slices[tid] if s[1] >= t0 and s[0] <= t1),
                     key=lambda s: (s[0], -s[1]))
        if not vis:
            continue
        stack, placed = [], []
        for s in vis:
            while stack and stack[-1] <= s[0]:
                stack.pop()
            placed.append((s[0], s[1], s[2], len(stack)))
            stack.append(s[1])
        lanes.append((names.get(tid, str(tid)), placed))
    depth = [max(p[3] for p in pl) + 1 for _, pl in lanes]
    rows = sum(depth)
    fig = plt.figure(figsize=(14, 1.2 + 0.32 * rows + 1.6))
    ax = fig.add_axes([0.12, 0.28, 0.86, 0.66])
    y, ticks, labels, seen = 0, [], [], set()
    for (label, placed), d in zip(lanes, depth):
        for s, e, n, k in placed:
            c = COLORS.get(n, "#c7c7c7")
            ax.barh(y + k, (min(e, t1) - max(s, t0)) / 1000, left=(max(s, t0) - lo) / 1000,
                    height=0.8, color=c, edgecolor="none",
                    label=n if n in COLORS and n not in seen else None)
            if n in COLORS:
                seen.add(n)
        ticks.append(y + (d - 1) / 2)
        labels.append(label)
        y += d
        ax.axhline(y - 0.5, color="#eeeeee", linewidth=0.5)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim((t0 - lo) / 1000, (t1 - lo) / 1000)
    ax.set_xlabel("ms")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=8, fontsize=8, frameon=False)
    ax.set_title(a.title or f"{a.timeline}: {(t1 - t0) / 1000:.1f} ms")
    if counters["used"]:
        cx = fig.add_axes([0.12, 0.05, 0.86, 0.1])
        # sampled every 100 ms: carry the last value before the window in
        before = [(t, v) for t, v in counters["used"] if t < t0]
        pts = ([(t0, before[-1][1])] if before else []) + \
            [(t, v) for t, v in counters["used"] if t0 <= t <= t1]
        if pts:
            pts.append((t1, pts[-1][1]))
            cx.step([(t - lo) / 1000 for t, _ in pts], [v / 2**20 for _, v in pts], where="post")
        cx.set_xlim((t0 - lo) / 1000, (t1 - lo) / 1000)
        cx.set_ylabel("seg 0 MiB", fontsize=8)
        cx.tick_params(labelsize=8)
    fig.savefig(a.out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())

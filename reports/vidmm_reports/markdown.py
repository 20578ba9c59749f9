# SPDX-License-Identifier: MIT
"""The Markdown summary (suite's summary.md, `report --md`).

Owns: the Markdown layout. Must not: hold a number the HTML page and this
would show differently (tables.py makes the cells)."""

from . import tables, units


def _table(head, rows):
    esc = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(esc(h) for h in head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def results(doc, micro=None):
    out = ["# vidmm-bench results", "", _table(("", ""), tables.context_rows(doc)), ""]
    groups = doc.groups()
    fam = {}
    for g in groups:
        fam.setdefault(g.first.raw.get("family") or g.first.workload, []).append(g)
    reps = max(len(g.runs) for g in groups)
    if reps > 1:
        out += [f"Values with several repetitions read `median [95% interval]` across the "
                f"{reps} repetitions (order statistics; with 5 repetitions the interval is "
                f"[min–max], 94% coverage).", ""]
    for f, gs in fam.items():
        out += [f"## {f}", "", _table(tables.RUN_COLUMNS, [tables.group_row(g) for g in gs]), ""]
        for g in gs:
            line = tables.headline_line(g)
            if line:
                out.append(f"- **{g.label}**: {line}")
        out.append("")
    out += ["## Latency per operation", ""]
    for g in groups:
        r = tables.median_run(g)
        rows = tables.latency_rows(r)
        if not rows:
            continue
        note = f" (repetition {r.repetition + 1} of {len(g.runs)}, the median by ops/s)" \
            if len(g.runs) > 1 else ""
        out += [f"### {g.label}{note}", "", _table(tables.LATENCY_COLUMNS, rows), ""]
    perf = tables.perf_rows(groups)
    if perf:
        out += ["## perf counters (--perf)", "", tables.perf_note(groups), "",
                _table(tables.PERF_COLUMNS, perf), ""]
    if micro is not None:
        out += [gbench(micro, level="##")]
    return "\n".join(out)


def gbench(doc, level="#"):
    rows = [(n, tables.interval(doc.bench[n], units.ns), str(len(doc.bench[n])))
            for n in doc.order]
    return "\n".join([f"{level} Microbenchmarks", "", doc.title(), "",
                      _table(("benchmark", "time/iteration: median [95% CI]", "repetitions"),
                             rows), ""])


def _analyze_rows(doc):
    rows = []
    for c in doc.caps:
        b = c["bound"]
        cells = [units.nbytes(c["capacity"]),
                 f"{c['over']:.2f}x" if isinstance(c["over"], (int, float)) else "–",
                 units.nbytes(b) if b is not None else "–",
                 units.nbytes(c["pfoo"]) if c["pfoo"] is not None else "–"]
        for p in doc.policies:
            m = c["moved"].get(p)
            if m is None:
                cells.append("–")
            elif b:
                cells.append(f"{units.nbytes(m)} ({m / b:.2f}x)")
            else:
                cells.append(units.nbytes(m))
        rows.append(cells)
    return rows


ANALYZE_HEAD = ("capacity", "peak / capacity", "lower bound (FOO-L)", "PFOO-L")


def analyze(doc):
    return "\n".join(["# vidmm-bench analyze", "", doc.title(), "",
                      "Bytes paged out plus in, and (in brackets) that over the lower bound.", "",
                      _table(ANALYZE_HEAD + tuple(doc.policies), _analyze_rows(doc)), ""])

# SPDX-License-Identifier: MIT
"""The tables of a report, as rows of text cells, shared by the Markdown
summary and the HTML page (each renders them its own way).

Owns: which columns a run group's tables have and how a cell reads. Must
not: render markup."""

from . import metrics, stats, units


def interval(vals, fmt, unit=""):
    """'median [lo–hi] unit' across repetitions; the value alone for one."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    ci = stats.median_ci(vals)
    med, lo, hi, _ = ci
    tail = f" {unit}" if unit else ""
    if len(vals) == 1 or lo == hi:
        return f"{fmt(med)}{tail}"
    return f"{fmt(med)} [{fmt(lo)}–{fmt(hi)}]{tail}"


def median(vals, fmt):
    vals = [v for v in vals if v is not None]
    return fmt(stats.median_ci(vals)[0]) if vals else "–"


def context_rows(doc):
    c = doc.context
    p = c.get("profile") or {}
    rows = []

    def add(k, v):
        if v not in (None, "", [], {}):
            rows.append((k, str(v)))

    add("suite", c.get("suite"))
    add("version", f"{c.get('version', '?')} ({c.get('git_rev', '?')})")
    add("started", c.get("started_at"))
    add("driver", c.get("driver"))
    if p:
        local = (p.get("local_visible") or 0) + (p.get("local_invisible") or 0)
        pcie = (p.get("pcie_snooped") or 0) + (p.get("pcie_unsnooped") or 0)
        add("profile", f"{p.get('name')}: local {units.nbytes(local)} "
            f"({units.nbytes(p.get('local_visible'))} CPU-visible), GART "
            f"{units.nbytes(pcie)}, paging window {units.nbytes(p.get('paging'))}, system "
            f"{units.nbytes(p.get('sysmem'))}, swap {units.nbytes(p.get('swap'))}, "
            f"{p.get('copy_engines', 1)} copy engine(s)")
    add("paging mode", c.get("paging_mode"))
    if c.get("paging"):
        add("paging", c.get("paging"))
    if c.get("evict_policy"):
        add("eviction policy", c.get("evict_policy"))
    add("host", f"{c.get('host_cpu', '?')}, {c.get('host_cpus', '?')} CPUs, {c.get('kernel', '?')}")
    add("hardware perf counters", "yes" if c.get("hw_perf_counters") else "no")
    io = c.get("io_uring")
    if isinstance(io, dict):
        add("swap I/O", f"{io.get('io_mode')}, {io.get('buffer_mode')} buffers, ring flags "
            f"{io.get('setup_flags_names') or io.get('setup_flags')}")
    add("seed", c.get("seed"))
    reps = c.get("repeat")
    if reps and reps > 1:
        add("repetitions", f"{reps} per configuration" +
            (" (same seed)" if c.get("same_seed") else " (seeds derived from the base seed)"))
    if c.get("wall_s"):
        add("wall time", units.seconds(c.get("wall_s")))
    if c.get("peak_rss_kib"):
        add("peak RSS", units.nbytes(c["peak_rss_kib"] * 1024))
    if c.get("interrupted"):
        add("interrupted", "yes: the runs that finished are below; the last one is partial")
    add("command", " ".join(c.get("command") or []))
    return rows


RUN_COLUMNS = ("run", "reps", "threads", "measured", "ops/s", "units/s", "create p50 / p99",
               "submit p50 / p99", "alloc failures", "page-outs / -ins", "paged",
               "dummy faults", "integrity errors", "check")


def _lat(run, kind):
    l = (run.raw.get("latency") or {}).get(kind)
    if not l:
        return None
    return f"{units.ns(l.get('p50_ns'))} / {units.ns(l.get('p99_ns'))}"


def group_row(g):
    r0 = g.first
    vals = lambda name: [r.value(name) for r in g.runs]
    unit = r0.metrics.get("unit") or "units"
    flags = []
    if any(r.inconclusive for r in g.runs):
        flags.append("inconclusive")
    if any(r.interrupted for r in g.runs):
        flags.append("interrupted")
    if any(r.busy for r in g.runs):
        flags.append("busy machine")
    checks = [(r.raw.get("checks") or {}) for r in g.runs]
    failed = [c for c in checks if not c.get("passed", True)]
    check = "ok" if not failed else f"FAILED ({failed[0].get('failure', '?')})"
    paged = sum((r.value("bytes_paged_out") or 0) + (r.value("bytes_paged_in") or 0)
                for r in g.runs) / max(len(g.runs), 1)
    return (
        g.label + (f" ({', '.join(flags)})" if flags else ""),
        str(len(g.runs)),
        str(r0.config.get("threads")),
        median(vals("duration_s"), units.seconds),
        interval(vals("ops_per_sec"), units.count, "/s"),
        interval(vals("units_per_sec"), units.count, f"{unit}/s")
        if unit not in ("ops", "calls") else "–",
        _lat(r0, "create") or "–",
        _lat(r0, "submit") or "–",
        units.count(sum(r.value("alloc_failures") or 0 for r in g.runs)),
        f"{units.count(sum(r.value('page_outs') or 0 for r in g.runs))} / "
        f"{units.count(sum(r.value('page_ins') or 0 for r in g.runs))}",
        units.nbytes(paged),
        units.count(sum(r.value("dummy_page_faults") or 0 for r in g.runs)),
        units.count(sum(r.value("integrity_errors") or 0 for r in g.runs)),
        check,
    )


def headline_line(g):
    """The workload's headline values (median across repetitions) and its
    notes, as one line."""
    parts = []
    unit = g.first.metrics.get("unit") or "units"
    for name, (m, v) in metrics.group_values(g).items():
        if m.headline and name not in ("ops/s", f"{unit}/s"):
            parts.append(f"{name} {interval(v, m.fmt)}")
    wm = g.first.raw.get("workload_metrics") or {}
    for n in g.first.raw.get("notes") or []:
        parts.append(str(n))
    if not parts and wm:
        for k, v in list(wm.items())[:6]:
            if isinstance(v, (int, float)):
                parts.append(f"{k} {units.count(v)}")
    return "; ".join(parts)


LATENCY_COLUMNS = ("operation", "count", "mean", "p50", "p90", "p99", "p99.9", "max")


def latency_rows(run):
    rows = []
    for kind, l in (run.raw.get("latency") or {}).items():
        if not isinstance(l, dict) or not l.get("count"):
            continue
        rows.append((kind, units.count(l.get("count")), units.ns(l.get("mean_ns")),
                     units.ns(l.get("p50_ns")), units.ns(l.get("p90_ns")),
                     units.ns(l.get("p99_ns")), units.ns(l.get("p999_ns")),
                     units.ns(l.get("max_ns"))))
    return rows


PERF_COLUMNS = ("run", "window counters", "CPUs busy", "task-clock per call",
                "per unit", "per page-in")


def _perf_value(name, v):
    if name == "task_clock_ns":
        return f"task-clock {units.ns(v)}"
    return f"{name.replace('_', ' ')} {units.count(v)}"


def perf_rows(groups):
    """--perf counters per run group (the median repetition): the measured
    window's counters and task-clock per operation. Empty when no run had
    --perf. The per-operation figures share all CPU time out over the
    operations: an attribution, not one operation's own cost."""
    rows = []
    for g in groups:
        r = median_run(g)
        p = r.raw.get("perf")
        if not isinstance(p, dict):
            continue
        w = p.get("window") or {}
        per = p.get("per_operation") or {}
        if not p.get("available") or not w:
            rows.append((g.label, p.get("summary") or "unavailable", "–", "–", "–", "–"))
            continue
        dur = r.value("duration_s") or 0
        tc = w.get("task_clock_ns")
        unit = r.metrics.get("unit") or "unit"
        rows.append((
            g.label,
            ", ".join(_perf_value(k, v) for k, v in w.items()),
            f"{tc / 1e9 / dur:.2f}" if tc is not None and dur else "–",
            units.ns(per.get("task_clock_ns_per_call")) if "task_clock_ns_per_call" in per else "–",
            (units.ns(per["task_clock_ns_per_unit"]) + f" ({unit})")
            if "task_clock_ns_per_unit" in per else "–",
            units.ns(per.get("task_clock_ns_per_page_in")) if "task_clock_ns_per_page_in" in per
            else "–",
        ))
    return rows


def perf_note(groups):
    """Which counters this machine had, said once."""
    for g in groups:
        p = g.first.raw.get("perf")
        if isinstance(p, dict) and p.get("available"):
            hw = bool({"cycles", "instructions"} & set(p.get("counters") or {}))
            return ("Counters of every thread of the process over the measured window "
                    "(perf_event_open). " + ("Hardware counters were available." if hw else
                    "No hardware counters here (a VM without a PMU): software counters only."))
    return ""


def median_run(g):
    """The repetition whose ops/s is the median: the one a page draws."""
    runs = sorted(g.runs, key=lambda r: r.value("ops_per_sec") or 0)
    return runs[(len(runs) - 1) // 2]

# SPDX-License-Identifier: MIT
"""The self-contained HTML pages: a results report and a comparison. Inline
CSS and inline SVG charts; no script, no external reference.

Owns: what a page shows and in which order. Must not: draw (charts.py) or
decide a verdict (stats.py, compare.py)."""

import html

from . import charts, compare as cmpmod, metrics, tables, units

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;
padding:1.2em 1.5em;color:#1b1f23}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;
padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:12.5px}
th,td{border:1px solid #d8dde3;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em;margin:.6em 0}
.bad{color:#c0392b;font-weight:600}.good{color:#1e8449;font-weight:600}.flag{color:#b7950b;font-weight:600}
figure{margin:.8em 0 1.4em}figcaption{color:#555;font-size:12px;margin-top:.2em}
nav a{margin-right:.9em}svg{max-width:100%;height:auto}
.verdict{font-size:1.15em;margin:.6em 0}
"""


def _e(s):
    return html.escape(str(s), quote=True)


def _table(head, rows, num_from=1):
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            cls = ' class="num"' if i >= num_from and any(ch.isdigit() for ch in str(c)) else ""
            cells.append(f"<td{cls}>{_e(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _figure(name, svg, caption):
    if not svg:
        return ""
    return (f'<figure class="chart" data-chart="{_e(name)}">{svg}'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _page(title, body):
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _group_section(i, g):
    r = tables.median_run(g)
    out = [f'<section id="g{i}"><h2>{_e(g.label)}</h2>']
    flags = [x for x in ("inconclusive", "interrupted")
             if any(getattr(rr, x) for rr in g.runs)]
    if any(rr.busy for rr in g.runs):
        flags.append("busy machine")
    if flags:
        reasons = {rr.raw.get("inconclusive_reason") for rr in g.runs if rr.inconclusive}
        out.append(f'<p class="note">{_e(", ".join(flags))}'
                   + (f": {_e('; '.join(x for x in reasons if x))}" if reasons else "") + "</p>")
    desc = g.first.raw.get("description")
    if desc:
        out.append(f'<p class="meta">{_e(desc)}</p>')
    # Headline values across repetitions.
    gv = metrics.group_values(g)
    rows = [(name, tables.interval(v, m.fmt), str(len(v))) for name, (m, v) in gv.items()
            if m.headline]
    if rows:
        out.append(_table(("metric", "median [95% interval] across repetitions" if len(g.runs) > 1
                           else "value", "repetitions"), rows))
    for n in g.first.raw.get("notes") or []:
        out.append(f'<p class="note">{_e(n)}</p>')
    which = (f"repetition {r.repetition + 1} of {len(g.runs)} (the median by ops/s)"
             if len(g.runs) > 1 else "the run")
    lat = tables.latency_rows(r)
    if lat:
        out.append(f"<h3>Latency per operation ({_e(which)})</h3>")
        out.append(_table(tables.LATENCY_COLUMNS, lat))
    out.append(_figure("latency-cdf", charts.latency_cdf(r),
                       f"Latency distribution per operation, {which}: the fraction of calls "
                       f"at or below each latency (log scale)."))
    out.append(_figure("timeline", charts.timeline(r),
                       f"Operations per second and client bytes resident per segment over "
                       f"time, {which}; dashed: the segment's capacity."))
    if g.first.workload == "paging":
        out.append(_figure("paging-by-size", charts.paging_by_size(r),
                           "Page-out and page-in throughput by allocation size. The emulated "
                           "copy engine is itself a memcpy through the MMU: this measures the "
                           "manager's overhead, not a bus."))
    out.append(_figure("swap", charts.swap_timeline(r),
                       f"Swap file in use and swap traffic per second, {which}."))
    out.append(_figure("faults", charts.faults(r),
                       f"Fault counters over time (cumulative), {which}."))
    out.append("</section>")
    return "\n".join(out)


def results(doc, micro=None):
    groups = doc.groups()
    body = [f"<h1>vidmm-bench report</h1><p class=\"meta\">{_e(doc.title())}</p>"]
    if doc.context.get("interrupted") or any(r.interrupted for r in doc.runs):
        body.append('<p class="note">This document was interrupted: the runs that finished '
                    'are complete; the last one covers only the time before the signal.</p>')
    body.append(_table(("", ""), tables.context_rows(doc), num_from=99))
    body.append("<nav>" + "".join(f'<a href="#g{i}">{_e(g.label)}</a>'
                                  for i, g in enumerate(groups)) + "</nav>")
    body.append("<h2>Runs</h2>")
    body.append(_table(tables.RUN_COLUMNS, [tables.group_row(g) for g in groups]))
    if len(groups) > 1 or any(len(g.runs) > 1 for g in groups):
        body.append("<h2>Across runs and repetitions</h2>")
        names = []
        for g in groups:
            for name, (m, _v) in metrics.group_values(g).items():
                if m.headline and name not in names:
                    names.append(name)
        for name in names:
            vo = lambda g, n=name: metrics.group_values(g).get(n, (None, []))[1]
            have = [vo(g) for g in groups if vo(g)]
            # One group, or every value the same: the tables say it better.
            if len(have) < 2 and all(len(v) < 2 for v in have):
                continue
            if len({x for v in have for x in v}) < 2:
                continue
            body.append(_figure(f"suite-{name}", charts.group_strip(groups, name, vo),
                                f"{name} of every run group: dots are repetitions, the bar "
                                f"their median, the line its 95% interval."))
    perf = tables.perf_rows(groups)
    if perf:
        body.append("<h2>perf counters (--perf)</h2>")
        body.append(f'<p class="meta">{_e(tables.perf_note(groups))}</p>')
        body.append(_table(tables.PERF_COLUMNS, perf, num_from=2))
    if micro is not None:
        body.append(gbench_section(micro))
    for i, g in enumerate(groups):
        body.append(_group_section(i, g))
    return _page("vidmm-bench report", "\n".join(body))


def gbench_section(doc):
    rows = [(n, tables.interval(doc.bench[n], units.ns), str(len(doc.bench[n])))
            for n in doc.order]
    return "\n".join([
        "<h2>Microbenchmarks</h2>", f'<p class="meta">{_e(doc.title())}</p>',
        _figure("micro", charts.micro(doc), "Time per iteration of each microbenchmark: median "
                "of the repetitions, its 95% interval (log scale)."),
        _table(("benchmark", "time/iteration: median [95% interval]", "repetitions"), rows)])


def gbench(doc):
    return _page("vidmm-bench microbenchmarks", "<h1>Microbenchmarks</h1>" + gbench_section(doc))


def comparison(cmp, show_all=False):
    c = cmp.counts()
    body = ["<h1>vidmm-bench compare</h1>",
            f'<p class="meta">base: {_e(cmp.base.title())}<br>new: {_e(cmp.new.title())}</p>']
    body += [f'<p class="note">{_e(n)}</p>' for n in cmp.notes]
    body.append(f'<p class="verdict"><span class="bad">{c["regressed"]} regressed</span>, '
                f'<span class="good">{c["improved"]} improved</span>, {c["unchanged"]} '
                f'unchanged, <span class="flag">{c["inconclusive"]} inconclusive</span></p>')
    body.append(f'<p class="meta">{_e(cmp.verdict_line())}</p>')
    changed = [r for r in cmp.rows if r.verdict in ("regressed", "improved")]
    body.append(_figure("compare-forest", charts.forest(cmp.rows, cmp.threshold),
                        "Change of every compared metric with its 95% bootstrap interval; red "
                        "regressed, green improved, grey unchanged, yellow inconclusive."))
    if changed:
        body.append("<h2>What changed</h2>")
        body.append(_figure("compare-before-after", charts.before_after(changed),
                            "Base and new repetitions of each changed metric: dots are "
                            "repetitions, the bar the median, the line its 95% interval."))
    rows = cmp.rows if show_all else (changed or cmp.rows)
    body.append("<h2>" + ("Every metric" if rows is cmp.rows else "Changed metrics") + "</h2>")
    body.append(_table(("run", "metric", "base", "new", "change [95% CI]", "p", "verdict", "why"), [
        (r.group, r.metric.name, cmpmod._interval(r.base_vals, r.metric.fmt),
         cmpmod._interval(r.new_vals, r.metric.fmt), cmpmod._change(r.res),
         units.pvalue(r.res["p"]), r.verdict, r.res["why"]) for r in rows]))
    if cmp.base_only or cmp.new_only:
        body.append("<h2>Unmatched</h2>")
        body.append(f"<p>base only: {_e('; '.join(cmp.base_only) or 'none')}<br>new only: "
                    f"{_e('; '.join(cmp.new_only) or 'none')}</p>")
    return _page("vidmm-bench compare", "\n".join(body))


def analyze(doc):
    from . import markdown as _md
    body = ["<h1>vidmm-bench analyze</h1>", f'<p class="meta">{_e(doc.title())}</p>',
            _figure("analyze", charts.analyze(doc), "Bytes paged out plus in at each capacity of "
                    "local memory, per eviction policy, replayed through the manager; belady "
                    "knows the future; no policy can move fewer bytes than the lower bound."),
            _table(_md.ANALYZE_HEAD + tuple(doc.policies), _md._analyze_rows(doc))]
    return _page("vidmm-bench analyze", "\n".join(body))

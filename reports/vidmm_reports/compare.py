# SPDX-License-Identifier: MIT
"""`vidmm-bench compare BASE NEW`: match the run groups of two documents and
judge every metric they share (stats.compare), or the benchmarks of two
Google Benchmark files.

Owns: matching (configuration keys, --axis, --pair) and the verdict counts.
Must not: judge a metric from one repetition, or match runs whose
configurations differ without saying so."""

from . import load, metrics, stats, units
from .load import ReportError

VERDICTS = ("regressed", "improved", "unchanged", "inconclusive")
AXES = ("workload", "params", "threads", "paging_mode", "paging", "evict_policy", "profile",
        "driver", "verify", "clear_on_create", "fence_timeout_ns", "inject")


class Row:
    def __init__(self, group, metric, base_vals, new_vals, res):
        self.group = group          # label of the new side's group
        self.base_group = None
        self.metric = metric
        self.base_vals = base_vals
        self.new_vals = new_vals
        self.res = res

    @property
    def verdict(self):
        return self.res["verdict"]


class Comparison:
    def __init__(self):
        self.notes = []
        self.rows = []
        self.base_only = []
        self.new_only = []
        self.base = self.new = None
        self.alpha = stats.ALPHA
        self.threshold = stats.THRESHOLD

    def counts(self):
        c = {v: 0 for v in VERDICTS}
        for r in self.rows:
            c[r.verdict] += 1
        return c

    def verdict_line(self):
        c = self.counts()
        ngroups = len({r.group for r in self.rows})
        return (f"verdict: {c['regressed']} regressed, {c['improved']} improved, "
                f"{c['unchanged']} unchanged, {c['inconclusive']} inconclusive "
                f"({len(self.rows)} metrics in {ngroups} matched "
                f"{'benchmarks' if self.base.kind == 'gbench' else 'run groups'}; "
                f"Mann-Whitney U across repetitions, alpha {self.alpha}, noise threshold "
                f"{self.threshold * 100:.0f}%, {self.threshold * 200:.0f}% for p99)")


def _profile_sig(ctx):
    p = ctx.get("profile") or {}
    return p.get("name"), tuple(sorted((k, v) for k, v in p.items() if k != "name"))


def _parse_pairs(pairs):
    out = []
    for p in pairs:
        if "=" not in p:
            raise ReportError(f"--pair {p}: expected BASE_LABEL=NEW_LABEL (labels as compare "
                              f"lists them under 'unmatched')")
        a, b = p.split("=", 1)
        out.append((a.strip(), b.strip()))
    return out


def compare_docs(base, new, axes=(), pairs=(), alpha=stats.ALPHA, threshold=stats.THRESHOLD):
    cmp = Comparison()
    cmp.base, cmp.new = base, new
    cmp.alpha, cmp.threshold = alpha, threshold
    if base.kind != new.kind:
        raise ReportError(f"cannot compare {base.path} ({base.kind}) with {new.path} "
                          f"({new.kind})")
    for a in axes:
        if a not in AXES:
            raise ReportError(f"--axis {a}: not a run dimension (one of {', '.join(AXES)})")
    if base.kind == "gbench":
        _compare_gbench(cmp, base, new, alpha, threshold)
        return cmp
    drop = set(axes)
    bp, np_ = _profile_sig(base.context), _profile_sig(new.context)
    if bp != np_:
        if bp[0] != np_[0]:
            cmp.notes.append(f"profiles differ: base {bp[0]}, new {np_[0]}"
                             + ("" if "profile" in drop else
                                " (runs match only within one profile; --axis profile "
                                "compares across them)"))
        else:
            cmp.notes.append(f"profile {bp[0]} has different sizes in the two documents "
                             f"(capacity overrides)")
    if base.context.get("driver") != new.context.get("driver"):
        cmp.notes.append(f"drivers differ: base {base.context.get('driver')}, new "
                         f"{new.context.get('driver')}")
    for side, d in (("base", base), ("new", new)):
        bad = [r for r in d.runs if r.interrupted]
        if bad:
            cmp.notes.append(f"{side}: {len(bad)} run(s) were interrupted; their values are "
                             f"left out")
        busy = [r for r in d.runs if r.busy and not r.interrupted]
        if busy:
            worst = max(r.host_share or 0 for r in busy)
            cmp.notes.append(f"{side}: {len(busy)} run(s) shared the machine with other work "
                             f"(up to {worst * 100:.0f}% of its CPU time in the window, past "
                             f"the run's --max-other-load); their values are left out")
    bgs = base.groups(drop)
    ngs = new.groups(drop)
    by_key = {g.key: g for g in bgs}
    matched = []
    used_b = set()
    explicit = _parse_pairs(pairs)
    blab = {g.label: g for g in bgs}
    nlab = {g.label: g for g in ngs}
    for a, b in explicit:
        if a not in blab:
            raise ReportError(f"--pair {a}={b}: no run group '{a}' in {base.path} (its groups: "
                              f"{', '.join(blab) or 'none'})")
        if b not in nlab:
            raise ReportError(f"--pair {a}={b}: no run group '{b}' in {new.path} (its groups: "
                              f"{', '.join(nlab) or 'none'})")
        matched.append((blab[a], nlab[b]))
        used_b.add(id(blab[a]))
    paired_new = {id(n) for _, n in matched}
    for g in ngs:
        if id(g) in paired_new:
            continue
        b = by_key.get(g.key)
        if b is not None and id(b) not in used_b:
            matched.append((b, g))
            used_b.add(id(b))
        else:
            cmp.new_only.append(g.label)
    cmp.base_only = [g.label for g in bgs if id(g) not in used_b]
    # An unmatched group is listed with what sets it apart from the other
    # side's groups of its workload, so the --pair or --axis to use is plain.
    cmp.new_only = [_unmatched_label(g, bgs) for g in ngs if g.label in cmp.new_only]
    cmp.base_only = [_unmatched_label(g, ngs) for g in bgs if id(g) not in used_b]
    for b, n in matched:
        # The metrics are those of every run; the values only those of the
        # runs kept (a side whose every repetition was left out still has
        # its metrics, judged inconclusive, not dropped from the table).
        bnames = metrics.group_values(b)
        bv = metrics.group_values(_complete(b))
        nv = metrics.group_values(_complete(n))
        for name, (m, _) in metrics.group_values(n).items():
            if name not in bnames:
                continue
            bvals = bv[name][1] if name in bv else []
            nvals = nv[name][1] if name in nv else []
            res = stats.compare(bvals, nvals, m.better, alpha, threshold, m.tail)
            if not bvals or not nvals:
                side = "base" if not bvals else "new"
                res["why"] = (f"no repetition of the {side} side is left (interrupted, or run "
                              f"on a busy machine)")
            row = Row(n.label, m, bvals, nvals, res)
            row.base_group = b.label
            cmp.rows.append(row)
    if not matched:
        cmp.notes.append("no run groups in common (labels below; --pair BASE=NEW or --axis "
                         "DIMENSION matches runs that differ on purpose)")
    return cmp


def _unmatched_label(g, others):
    same = [o for o in others if o.first.workload == g.first.workload]
    if not same:
        return g.label
    diffs = []
    r = g.first
    for d in load.DIMENSIONS[1:]:
        if all(o.first.config[d] != r.config[d] for o in same):
            if d == "params":
                op = dict(same[0].first.config["params"])
                diffs += [f"{k}={r.params.get(k)}" for k, v in r.config["params"]
                          if op.get(k) != v]
            else:
                diffs.append(f"{d}={r.config[d]}")
    return g.label + (f" [{', '.join(diffs)}]" if diffs else "")


class _Complete:
    """A group without its interrupted repetitions, and without those that
    ran on a busy machine: a neighbour slows every repetition it overlaps,
    so they would differ from the other side for a reason the test cannot
    see."""

    def __init__(self, g):
        self.runs = [r for r in g.runs if not r.interrupted and not r.busy]
        self.label = g.label


def _complete(g):
    return _Complete(g)


def _compare_gbench(cmp, base, new, alpha, threshold):
    for name in new.order:
        if name not in base.bench:
            cmp.new_only.append(name)
            continue
        m = metrics.Metric("time/iteration", "lower", units.ns)
        res = stats.compare(base.bench[name], new.bench[name], "lower", alpha, threshold)
        row = Row(name, m, base.bench[name], new.bench[name], res)
        row.base_group = name
        cmp.rows.append(row)
    cmp.base_only = [n for n in base.order if n not in new.bench]
    if any(len(v) < 2 for v in list(base.bench.values()) + list(new.bench.values())):
        cmp.notes.append("some benchmarks have one repetition: run vidmm-micro with "
                         "--benchmark_repetitions=5 (the suites do) for a verdict")


def _interval(vals, fmt):
    ci = stats.median_ci(vals)
    if ci is None:
        return "–"
    med, lo, hi, _cov = ci
    if len(vals) == 1:
        return fmt(med)
    return f"{fmt(med)} [{fmt(lo)}–{fmt(hi)}]"


def _change(res):
    if res["change"] is None:
        return "–"
    s = units.pct(res["change"])
    if res["ci"]:
        s += f" [{units.pct(res['ci'][0])}, {units.pct(res['ci'][1])}]"
    return s


def text(cmp, show_all=False):
    lines = [f"base: {cmp.base.title()}", f"new:  {cmp.new.title()}"]
    lines += [f"NOTE: {n}" for n in cmp.notes]
    lines.append(cmp.verdict_line())
    rows = [r for r in cmp.rows if show_all or r.verdict in ("regressed", "improved")]
    if rows:
        table = [("run", "metric", "base: median [95% CI]", "new: median [95% CI]",
                  "change [95% CI]", "p", "verdict")]
        for r in rows:
            name = r.group if r.group == r.base_group else f"{r.base_group} -> {r.group}"
            table.append((name, r.metric.name, _interval(r.base_vals, r.metric.fmt),
                          _interval(r.new_vals, r.metric.fmt), _change(r.res),
                          units.pvalue(r.res["p"]), r.verdict))
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    elif cmp.rows:
        lines.append("no metric changed beyond noise" +
                     ("" if show_all else " (--all lists every metric)"))
    why = {}
    for r in cmp.rows:
        if r.verdict == "inconclusive":
            why[r.res["why"]] = why.get(r.res["why"], 0) + 1
    for w, n in why.items():
        lines.append(f"inconclusive ({n}): {w}")
    if cmp.base_only:
        lines.append("unmatched, base only: " + "; ".join(cmp.base_only))
    if cmp.new_only:
        lines.append("unmatched, new only: " + "; ".join(cmp.new_only))
    return "\n".join(lines) + "\n"


def to_json(cmp):
    return {
        "base": cmp.base.path, "new": cmp.new.path, "notes": cmp.notes,
        "alpha": cmp.alpha, "threshold": cmp.threshold,
        "verdicts": cmp.counts(),
        "rows": [{
            "base_group": r.base_group, "group": r.group, "metric": r.metric.name,
            "better": r.metric.better, "base": r.base_vals, "new": r.new_vals,
            **{k: v for k, v in r.res.items() if k not in ("better",)},
        } for r in cmp.rows],
        "base_only": cmp.base_only, "new_only": cmp.new_only,
    }

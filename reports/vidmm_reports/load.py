# SPDX-License-Identifier: MIT
"""Reading the documents reports are drawn from: vidmm-bench results (one
run, a suite, repetitions), Google Benchmark JSON (micro.json), and the
grouping of runs into repetitions of one configuration.

Owns: what a run group is (the same configuration repeated), its label, and
the key that matches groups across two documents. Must not: print, or accept
a document it cannot use (ReportError names what is wrong)."""

import json
import math
import os

from . import units


class ReportError(Exception):
    """Bad input: the message names the file and what is wrong (exit 2)."""


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_json(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a results file") from None
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: not JSON ({e})") from None


def kind_of(doc):
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list) and isinstance(doc.get("context"), dict):
        return "results"
    if isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list):
        return "gbench"
    if isinstance(doc, dict) and isinstance(doc.get("fuzz"), dict):
        return "fuzz"
    if isinstance(doc, dict) and isinstance(doc.get("analyze"), dict):
        return "analyze"
    return None


def load(path):
    """A Doc for path, or ReportError."""
    doc = read_json(path)
    k = kind_of(doc)
    if k == "results":
        return ResultsDoc(path, doc)
    if k == "gbench":
        return GBenchDoc(path, doc)
    if k == "analyze":
        return AnalyzeDoc(path, doc)
    if k == "fuzz":
        raise ReportError(f"{path}: a `vidmm-bench fuzz` document: it has no runs to report")
    raise ReportError(f"{path}: neither a vidmm-bench results document ({{context, runs}}) "
                      f"nor Google Benchmark JSON ({{context, benchmarks}})")


# ---- vidmm-bench results -------------------------------------------------------------

def norm_value(v):
    """A parameter value as compared: numbers as numbers ('2' == '2.0')."""
    s = str(v).strip()
    try:
        f = float(s)
        if math.isfinite(f):
            return repr(f)
    except ValueError:
        pass
    return s.lower()


# Dimensions of a run's configuration, in the order labels show them.
DIMENSIONS = ("workload", "params", "threads", "paging_mode", "paging", "evict_policy",
              "profile", "driver", "verify", "clear_on_create", "fence_timeout_ns", "inject")


class Run:
    """One run entry, with what compare and the charts need."""

    def __init__(self, doc, idx, r):
        if not isinstance(r, dict):
            raise ReportError(f"{doc.path}: runs[{idx}] is not an object")
        self.doc = doc
        self.idx = idx
        self.raw = r
        cfg = r.get("config") if isinstance(r.get("config"), dict) else {}
        met = r.get("metrics")
        if not isinstance(met, dict):
            raise ReportError(f"{doc.path}: runs[{idx}] has no metrics object")
        self.metrics = met
        rep = r.get("replay_of") if isinstance(r.get("replay_of"), dict) else None
        self.workload = str((rep or {}).get("workload") or r.get("workload") or "?")
        params = (rep or {}).get("params") if rep else r.get("params")
        self.params = {str(k): str(v) for k, v in (params or {}).items()} \
            if isinstance(params, dict) else {}
        self.is_replay = rep is not None or r.get("workload") == "replay"
        self.repetition = int(r.get("repetition", 0)) if _num(r.get("repetition", 0)) else 0
        ctx = doc.context
        self.config = {
            "workload": self.workload,
            "params": tuple(sorted((k, norm_value(v)) for k, v in self.params.items())),
            "threads": cfg.get("threads"),
            "paging_mode": cfg.get("paging_mode"),
            # sync or pipelined (--paging); files from before it are sync
            "paging": cfg.get("paging", "sync"),
            "evict_policy": cfg.get("evict_policy", "lru"),
            "profile": cfg.get("profile") or (ctx.get("profile") or {}).get("name"),
            "driver": ctx.get("driver"),
            "verify": cfg.get("verify"),
            "clear_on_create": cfg.get("clear_on_create", True),
            "fence_timeout_ns": cfg.get("fence_timeout_ns"),
            "inject": json.dumps(cfg.get("inject") or [], sort_keys=True),
        }
        self.interrupted = bool(r.get("interrupted"))
        self.inconclusive = bool(r.get("inconclusive"))
        # Other work took more of the machine during the window than the
        # run allowed (host_load, bench/hostload.c): its figures measured
        # the neighbours too.
        hl = r.get("host_load")
        self.busy = isinstance(hl, dict) and hl.get("busy") is True
        self.host_share = float(hl["share"]) if isinstance(hl, dict) and _num(hl.get("share")) \
            else None

    def key(self, drop=()):
        return tuple((d, self.config[d]) for d in DIMENSIONS if d not in drop)

    def value(self, name):
        v = self.metrics.get(name)
        return float(v) if _num(v) else None


class Group:
    """Repetitions of one configuration (runs with equal keys)."""

    def __init__(self, key, runs):
        self.key = key
        self.runs = sorted(runs, key=lambda r: r.repetition)
        self.label = ""

    @property
    def first(self):
        return self.runs[0]


class ResultsDoc:
    kind = "results"

    def __init__(self, path, doc):
        self.path = path
        self.context = doc["context"]
        self.raw = doc
        if not isinstance(self.context, dict):
            raise ReportError(f"{path}: context is not an object")
        self.runs = [Run(self, i, r) for i, r in enumerate(doc["runs"])]
        if not self.runs:
            raise ReportError(f"{path}: the document has no runs")

    def groups(self, drop=()):
        """Runs grouped by configuration, in document order, labelled by what
        tells them apart."""
        order, by = [], {}
        for r in self.runs:
            k = r.key(drop)
            if k not in by:
                by[k] = []
                order.append(k)
            by[k].append(r)
        gs = [Group(k, by[k]) for k in order]
        label_groups(gs)
        return gs

    def title(self):
        c = self.context
        prof = c.get("profile") or {}
        parts = [os.path.basename(os.path.dirname(os.path.abspath(self.path))) + "/" +
                 os.path.basename(self.path)]
        if c.get("suite"):
            parts.append(f"suite {c['suite']}")
        if prof.get("name"):
            parts.append(f"profile {prof['name']}")
        if c.get("driver"):
            parts.append(str(c["driver"]))
        if c.get("git_rev"):
            parts.append(f"rev {c['git_rev']}")
        if c.get("started_at"):
            parts.append(str(c["started_at"]))
        return ", ".join(parts)


def label_groups(groups):
    """Label each group by its workload and whatever differs between groups
    of the same workload (parameters, paging mode, threads, ...)."""
    by_wl = {}
    for g in groups:
        by_wl.setdefault(g.first.workload, []).append(g)
    for wl, gs in by_wl.items():
        differs = set()
        if len(gs) > 1:
            for d in DIMENSIONS[1:]:
                vals = {g.first.config[d] for g in gs}
                if len(vals) > 1:
                    differs.add(d)
        for g in gs:
            r = g.first
            parts = [wl]
            if "params" in differs:
                others = [dict(x.first.config["params"]) for x in gs]
                for k, v in r.config["params"]:
                    if any(o.get(k) != v for o in others):
                        parts.append(f"{k}={r.params.get(k)}")
            for d in DIMENSIONS[2:]:
                if d in differs:
                    v = r.config[d]
                    parts.append(str(v) if d in ("paging_mode", "paging", "evict_policy", "profile",
                                                 "driver")
                                 else f"{d}={v}")
            if r.is_replay:
                parts.append("(replay)")
            g.label = " ".join(parts)


# ---- Google Benchmark -----------------------------------------------------------------

_GB_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class GBenchDoc:
    kind = "gbench"

    def __init__(self, path, doc):
        self.path = path
        self.raw = doc
        self.context = doc.get("context") if isinstance(doc.get("context"), dict) else {}
        self.bench = {}   # run_name -> [ns per iteration, one per repetition]
        self.order = []
        for i, b in enumerate(doc["benchmarks"]):
            if not isinstance(b, dict):
                raise ReportError(f"{path}: benchmarks[{i}] is not an object")
            if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
                continue
            name = b.get("run_name") or b.get("name")
            t = b.get("real_time")
            unit = _GB_UNIT.get(b.get("time_unit", "ns"))
            if not isinstance(name, str) or not _num(t) or unit is None:
                raise ReportError(f"{path}: benchmarks[{i}]: name, real_time or time_unit "
                                  f"missing or malformed")
            if name not in self.bench:
                self.bench[name] = []
                self.order.append(name)
            self.bench[name].append(float(t) * unit)
        if not self.bench:
            raise ReportError(f"{path}: no benchmark results in it")

    def title(self):
        c = self.context
        return ", ".join(x for x in (os.path.basename(self.path),
                                     "Google Benchmark " + str(c.get("library_version", "")),
                                     str(c.get("date", ""))) if x)


class AnalyzeDoc:
    """`vidmm-bench analyze --out`: bytes each policy moved at each capacity,
    and the lower bounds."""
    kind = "analyze"

    def __init__(self, path, doc):
        self.path = path
        a = doc["analyze"]
        self.trace = a.get("trace", "?")
        self.peak = a.get("peak_live_bytes")
        self.caps = []   # dicts: capacity, over, bound, pfoo, moved {policy: bytes}, vs {policy: x}
        self.policies = []
        caps = a.get("capacities")
        if not isinstance(caps, list) or not caps:
            raise ReportError(f"{path}: analyze.capacities: expected a non-empty array")
        for i, c in enumerate(caps):
            pol = c.get("policies") if isinstance(c, dict) else None
            b = c.get("bound") if isinstance(c, dict) else None
            if not isinstance(pol, dict) or not isinstance(b, dict) or not _num(c.get("capacity")):
                raise ReportError(f"{path}: analyze.capacities[{i}]: expected {{capacity, bound, "
                                  f"policies}}")
            moved = {}
            for name, p in pol.items():
                if not isinstance(p, dict) or not _num(p.get("bytes_moved")):
                    raise ReportError(f"{path}: analyze.capacities[{i}].policies.{name}: no "
                                      f"bytes_moved")
                moved[name] = p["bytes_moved"]
                if name not in self.policies:
                    self.policies.append(name)
            self.caps.append({
                "capacity": c["capacity"],
                "over": c.get("oversubscription"),
                "bound": b.get("bytes") if _num(b.get("bytes")) else None,
                "pfoo": b.get("pfoo_l_bytes") if _num(b.get("pfoo_l_bytes")) else None,
                "moved": moved,
            })
        self.caps.sort(key=lambda c: c["capacity"])

    def title(self):
        return (f"{self.trace}: peak live {units.nbytes(self.peak) if _num(self.peak) else '?'}, "
                f"{len(self.caps)} capacities, {len(self.policies)} policies")

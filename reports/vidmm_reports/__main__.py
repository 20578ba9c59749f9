# SPDX-License-Identifier: MIT
"""`vidmm-bench report` and `vidmm-bench compare` (the C program runs this
module with Debian's /usr/bin/python3): arguments, outputs, exit codes.

Exit codes: report 0 ok, 2 bad input or output; compare 0 nothing
regressed, 1 something regressed, 2 bad input or output."""

import argparse
import os
import sys

try:
    from . import compare, html, load, markdown, stats
    from .load import ReportError
    from .outfile import OutFile
except ImportError as _e:  # matplotlib, scipy or numpy missing
    sys.stderr.write(f"vidmm-bench: the reports need Debian's python3-matplotlib and "
                     f"python3-scipy (scripts/setup.sh installs them): {_e}\n")
    sys.exit(2)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ReportError(message)


def _report(argv):
    p = _Parser(prog="vidmm-bench report", description=(
        "Render a results document (one run, a suite's results.json, repetitions) or a "
        "Google Benchmark micro.json as a Markdown summary and/or a self-contained HTML "
        "page with charts (matplotlib). Without --md/--html the Markdown goes to stdout. "
        "Outputs are checked writable before any work and appear whole or not at all."))
    p.add_argument("results", metavar="RESULTS.json")
    p.add_argument("--md", metavar="OUT.md")
    p.add_argument("--html", metavar="OUT.html")
    p.add_argument("--micro", metavar="MICRO.json",
                   help="Google Benchmark JSON to include (default: micro.json beside a "
                        "suite's results.json, when its context names it)")
    a = p.parse_args(argv)
    outs = []
    try:
        md = OutFile(a.md, "--md") if a.md else None
        if md:
            outs.append(md)
        ht = OutFile(a.html, "--html") if a.html else None
        if ht:
            outs.append(ht)
        doc = load.load(a.results)
        micro = None
        if a.micro:
            micro = load.load(a.micro)
            if micro.kind != "gbench":
                raise ReportError(f"--micro {a.micro}: not Google Benchmark JSON")
        elif doc.kind == "results" and doc.context.get("microbenchmarks") == "micro.json":
            mp = os.path.join(os.path.dirname(a.results), "micro.json")
            if os.path.exists(mp):
                micro = load.load(mp)
        if doc.kind == "gbench":
            mtext = markdown.gbench(doc) if (md or not ht) else None
            htext = html.gbench(doc) if ht else None
        elif doc.kind == "analyze":
            mtext = markdown.analyze(doc) if (md or not ht) else None
            htext = html.analyze(doc) if ht else None
        else:
            mtext = markdown.results(doc, micro) if (md or not ht) else None
            htext = html.results(doc, micro) if ht else None
        if not md and not ht:
            sys.stdout.write(mtext)
            return 0
        if md:
            md.put(mtext)
        if ht:
            ht.put(htext)
        return 0
    finally:
        for o in outs:
            o.abort()


def _compare(argv):
    p = _Parser(prog="vidmm-bench compare", description=(
        "Compare two results documents (or two Google Benchmark JSON files): runs are "
        "matched by workload, parameters (numbers compared as numbers), threads, paging "
        "mode, eviction policy, profile and driver; every metric they share is compared across repetitions "
        "(Mann-Whitney U, bootstrap interval of the change of the median). The verdict "
        "comes first, then the changed metrics."))
    p.add_argument("base", metavar="BASE.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("--all", action="store_true", help="list every metric, not only changes")
    p.add_argument("--pair", action="append", default=[], metavar="BASE_LABEL=NEW_LABEL",
                   help="compare these two run groups whatever their configurations")
    p.add_argument("--axis", action="append", default=[], metavar="DIMENSION",
                   help="ignore this dimension when matching runs (e.g. paging_mode, paging, "
                        "profile, threads, params)")
    p.add_argument("--alpha", type=float, default=stats.ALPHA, help="significance level (0.05)")
    p.add_argument("--threshold", type=float, default=stats.THRESHOLD * 100,
                   help="noise threshold in percent (5; twice that for p99)")
    p.add_argument("--json", metavar="OUT.json", help="the comparison as JSON")
    p.add_argument("--html", metavar="OUT.html", help="a page with the charts")
    a = p.parse_args(argv)
    if not 0 < a.alpha < 1:
        raise ReportError(f"--alpha {a.alpha}: must be between 0 and 1")
    if not 0 <= a.threshold < 100:
        raise ReportError(f"--threshold {a.threshold}: a percentage from 0 to 100")
    outs = []
    try:
        jo = OutFile(a.json, "--json") if a.json else None
        ho = OutFile(a.html, "--html") if a.html else None
        outs = [o for o in (jo, ho) if o]
        base = load.load(a.base)
        new = load.load(a.new)
        cmp = compare.compare_docs(base, new, a.axis, a.pair, a.alpha, a.threshold / 100)
        sys.stdout.write(compare.text(cmp, a.all))
        if not cmp.rows:
            raise ReportError("nothing to compare: no run group of one document matches one "
                              "of the other")
        if jo:
            import json
            jo.put(json.dumps(compare.to_json(cmp), indent=1) + "\n")
        if ho:
            ho.put(html.comparison(cmp, a.all))
        return 1 if cmp.counts()["regressed"] else 0
    finally:
        for o in outs:
            o.abort()


def main(argv):
    if not argv or argv[0] not in ("report", "compare"):
        sys.stderr.write("usage: python3 -m vidmm_reports report|compare ...\n")
        return 2
    cmd = argv[0]
    try:
        return (_report if cmd == "report" else _compare)(argv[1:])
    except ReportError as e:
        sys.stderr.write(f"vidmm-bench {cmd}: {e}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""figures.py - runs every benchmark behind README's "Measured figures" with
the parameters README states, and writes the tables README pastes.

Owns: which program and options make each table, parsing their output, and
the tables (median [min, max] over repeated invocations, and the ratios each
program measures in one run). Must not: measure anything itself (every
figure comes from a project program), or write a table from a program that
failed: a failed program stops the script with its output, and nothing is
written.

Usage: scripts/figures.sh [--quick] [--runs N] [--out DIR] [--build DIR]
                          [--from FILE...] [--check FILE]
Writes DIR/figures.md (the machine line and the tables) and DIR/figures.json
(every value of every invocation). --quick runs each program on its smallest
settings once (a smoke run: CI's FIGURES-SUITE-RUNS), not figures to publish.

--from FILE... runs nothing: it pools the invocations of earlier runs'
figures.json files (one machine, build and code revision) and writes the tables from
all of them, so that a table's [min, max] spans runs made at different times,
which is what a user who runs the command again sees; three invocations of
one run span only the minute they ran in.

--check FILE compares this run (or the pooled --from runs) with the figures
in FILE, a figures.json: for every ratio README states (absolute times and
rates drift with the machine's load and are not checked), whether this run's
median falls inside FILE's [min, max], beside how many would if runs did not
drift (by ranks: a median of 3 new invocations lands outside the range of 6
with chance 1/6). It writes DIR/check.md and prints a summary.

Exit status: 0 written (and, with --check, not clearly fewer ratios inside
than a drift-free rerun would show, none far outside), 1 a program failed (nothing
written), 2 bad usage or a bad input file (nothing written), 3 written, but
--check found clearly fewer ratios inside than a drift-free rerun would put
there (by two standard deviations of the count), or one far outside its
spread.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


class FigureError(Exception):
    pass


class InputError(Exception):
    """A bad --from or --check file: exit 2, nothing written."""


def run(cmd, timeout, cwd=None, ok=(0,)):
    """stdout of cmd, or FigureError naming the command and its output. ok:
    the exit codes that are not failures (the code is not returned: a caller
    that accepts another one checks the output)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise FigureError(f"{' '.join(cmd)}: no result within {timeout} s")
    except OSError as e:
        raise FigureError(f"{cmd[0]}: {e.strerror}")
    if p.returncode not in ok:
        raise FigureError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout[-3000:]}"
                          f"{p.stderr[-3000:]}")
    return p.stdout, time.monotonic() - t0


def spread(vals, fmt="{:,.0f}"):
    """median [min, max] of vals, or the one value."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    m = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(m)
    return f"{fmt.format(m)} [{fmt.format(min(vals))}, {fmt.format(max(vals))}]"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# ---- the machine ------------------------------------------------------------------------


def _first(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _fs_of(path):
    """(device, fstype) of the mount that holds path."""
    best, dev, fs = "", "?", "?"
    path = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and (path == p[1] or path.startswith(p[1].rstrip("/") + "/")) \
                        and len(p[1]) >= len(best):
                    best, dev, fs = p[1], p[0], p[2]
    except OSError:
        pass
    return dev, fs


def machine(build, swap_dir):
    mem = _first("/proc/meminfo", "MemTotal")
    gib = f"{int(mem.split()[0]) / 1048576:.0f} GiB" if mem else "? GiB"
    dev, fs = _fs_of(swap_dir)
    try:
        opts = json.loads(run(["meson", "introspect", build, "--buildoptions"], 60)[0])
        btype = next(o["value"] for o in opts if o["name"] == "buildtype")
    except (FigureError, StopIteration, ValueError):
        btype = "?"
    try:
        rev = run(["git", "rev-parse", "--short", "HEAD"], 30)[0].strip()
        # The last commit that changed what is measured (not prose, tests or
        # figures.sh and figures.py), and whether the tree differs from it: runs of one
        # code pool even when documentation was committed in between.
        what = [".", ":(exclude)*.md", ":(exclude)docs", ":(exclude)tests",
                ":(exclude)scripts/figures.*"]
        code = run(["git", "log", "-1", "--format=%H", "--"] + what, 30)[0].strip()[:12] or rev
        diff = run(["git", "diff", "HEAD", "--"] + what, 60)[0]
        if diff:  # named by its content: two different edits never pool
            code += "+dirty-" + hashlib.sha1(diff.encode()).hexdigest()[:8]
    except FigureError:
        rev = code = "?"
    return {
        "cpu": _first("/proc/cpuinfo", "model name") or "?",
        "cpus": os.cpu_count(),
        "memory": gib,
        "kernel": os.uname().release,
        "disk": f"{dev} ({fs}) at {swap_dir}",
        "build": f"{build} ({btype})",
        "rev": rev,
        "code": code,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_line(m):
    code = m.get("code", m["rev"])
    rev = m["rev"] if code.startswith(m["rev"]) and "+" not in code else \
        f"{m['rev']} (code of {code})"
    return (f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory']}, Linux {m['kernel']}, disk "
            f"{m['disk']}; build {m['build']}, rev {rev}; {m['date']}.")


# ---- the programs -------------------------------------------------------------------------

HEAP_RE = re.compile(r"^\s+(best-fit|baseline|bottom-up|top-down)\s+N=(\d+)\s+(steady|checkerboard)"
                     r"\s+holes\s+\d+\s+pair\s+([\d.]+) ns.*?churn\s+([\d.]+) ns", re.M)


HEAP_WORKLOADS = ("pair", "pair, 50% checkerboard", "pair, fixed 64 KiB", "churn")
CMP_RE = re.compile(r"^cmp (\d+)\s+(pair, 50% checkerboard|pair, fixed 64 KiB|pair|churn)\s+"
                    r"([\d.]+) \[[^]]*\]\s+([\d.]+) \[[^]]*\]\s+([\d.]+) \[[^]]*\]\s+"
                    r"([\d.]+)x \[([\d.]+), ([\d.]+)\]\s+([\d.]+)x \[[^]]*\]\s+"
                    r"([\d.]+) B\s+([\d.]+) B\s+([\d.]+) B", re.M)
QUALITY_RE = re.compile(r"^quality (new|reference)\s+utilization ([\d.]+)\s+free blocks\s+([\d.]+)"
                        r"\s+metadata\s+([\d.]+) B", re.M)
QUALITY_SEEDS_RE = re.compile(r"^quality new beats reference on (\d+) of (\d+) seeds; identical to "
                              r"the old best fit on (\d+) of", re.M)


def heap(tools, quick):
    cmd = [os.path.join(tools, "heap_bench")] + (["--quick"] if quick else [])
    out, _ = run(cmd, 1800)
    v = {}
    for mode, n, layout, pair, churn in HEAP_RE.findall(out):
        v[f"{mode} {n} {layout} pair"] = float(pair)
        v[f"{mode} {n} {layout} churn"] = float(churn)
    for (n, wl, new, old, ref, rn, rn10, rn90, ro, mnew, mold, mref) in CMP_RE.findall(out):
        k = f"cmp {n} {wl}"
        for name, val in (("new", new), ("old", old), ("ref", ref), ("new/ref", rn),
                          ("new/ref p10", rn10), ("new/ref p90", rn90), ("old/ref", ro),
                          ("meta new", mnew), ("meta old", mold), ("meta ref", mref)):
            v[f"{k} {name}"] = float(val)
    for who, util, blocks, meta in QUALITY_RE.findall(out):
        v[f"quality {who} util"] = float(util)
        v[f"quality {who} blocks"] = float(blocks)
        v[f"quality {who} meta"] = float(meta)
    m = QUALITY_SEEDS_RE.search(out)
    if m:
        v["quality beats"], v["quality seeds"], v["quality same as old"] = map(int, m.groups())
    if not v or "quality new util" not in v:
        raise FigureError(f"{cmd[0]}: no figures in its output")
    return v


def heap_table(runs):
    rows = []
    for n in ("1000", "10000", "100000"):
        def col(key):
            return [r.get(key) for r in runs]
        ratio = [ratios("heap", r).get(f"original / best fit {n}") for r in runs]
        rows.append((f"{int(n):,}", spread(col(f"best-fit {n} steady pair")),
                     spread(col(f"bottom-up {n} steady pair")),
                     spread(col(f"top-down {n} steady pair")),
                     spread(col(f"baseline {n} steady pair")), spread(ratio, "{:,.0f}x"),
                     spread(col(f"best-fit {n} checkerboard pair")),
                     spread(col(f"baseline {n} checkerboard pair")),
                     spread(col(f"best-fit {n} steady churn"))))
    modes = table(("live ranges", "best fit", "bottom-up", "top-down", "original",
                   "original / best fit", "best fit, 50% checkerboard", "original, checkerboard",
                   "churn, best fit"), rows)
    rows = []
    for wl in HEAP_WORKLOADS:
        for n in ("1000", "10000", "100000"):
            k = f"cmp {n} {wl}"
            c = lambda name: [r.get(f"{k} {name}") for r in runs]
            p10 = [x for x in c("new/ref p10") if x is not None]
            p90 = [x for x in c("new/ref p90") if x is not None]
            rows.append((f"{int(n):,}", wl, spread(c("new"), "{:.1f}"), spread(c("old"), "{:.1f}"),
                         spread(c("ref"), "{:.1f}"), spread(c("new/ref"), "{:.2f}x"),
                         f"{min(p10):.2f}–{max(p90):.2f}" if p10 and p90 else "–",
                         spread(c("old/ref"), "{:.2f}x"),
                         " / ".join(spread(c(f"meta {w}"), "{:.0f}") for w in ("new", "old", "ref"))))
    cmp = table(("live", "workload", "heap ns", "old heap ns", "reference ns", "heap / reference",
                 "p10–p90 of the per-round ratio", "old heap / reference",
                 "metadata B per live: heap / old / reference"), rows)
    c = lambda name: [r.get(name) for r in runs]
    seeds = runs[0].get("quality seeds", 0)
    quality = table(("at the first failure (4 GiB, 4 KiB–8 MiB, {} seeds)".format(seeds),
                     "utilization", "free blocks", "metadata B per live"),
                    [("heap (exact best fit)", spread(c("quality new util"), "{:.4f}"),
                      spread(c("quality new blocks"), "{:.0f}"), spread(c("quality new meta"), "{:.1f}")),
                     ("reference (good fit)", spread(c("quality reference util"), "{:.4f}"),
                      spread(c("quality reference blocks"), "{:.0f}"),
                      spread(c("quality reference meta"), "{:.1f}"))])
    # the quality test is deterministic: one line unless invocations differ
    same = "; ".join(dict.fromkeys(
        f"heap beats the reference on {r.get('quality beats')} of {r.get('quality seeds')} "
        f"seeds, identical to the old heap on {r.get('quality same as old')}" for r in runs))
    return (modes + "\n\nBeside the heap it replaced and the reference segregated-fit allocator, "
            "interleaved rounds in one process (ns per operation, each invocation's median over "
            "rounds):\n\n" + cmp + "\n\n" + quality + "\n\n" + same + ".")


PAGING_RE = re.compile(r"^(window|bounce)\s+(\d+)K\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"
                       r"\s+([\d.]+)\s+([\d.]+)", re.M)
SUBMIT_RE = re.compile(r"submit of a job with 16 resident allocations: p50 (\d+) ns, p99 (\d+) ns")


def paging(tools, quick):
    cmd = [os.path.join(tools, "paging_bench")] + (["--quick"] if quick else [])
    out, _ = run(cmd, 1800)
    v = {}
    for mode, kib, o, i, mc, omc, imc, _copies in PAGING_RE.findall(out):
        k = f"{mode} {kib}"
        v[k + " out"], v[k + " in"], v[k + " memcpy"] = float(o), float(i), float(mc)
        v[k + " out/memcpy"], v[k + " in/memcpy"] = float(omc), float(imc)
    m = SUBMIT_RE.search(out)
    if m:
        v["submit16 p50"], v["submit16 p99"] = float(m.group(1)), float(m.group(2))
    if not any(k.endswith(" out") for k in v):
        raise FigureError(f"{cmd[0]}: no figures in its output")
    return v


def paging_table(runs):
    rows = []
    for mode in ("window", "bounce"):
        for kib, label in (("64", "64 KiB"), ("2048", "2 MiB"), ("32768", "32 MiB")):
            k = f"{mode} {kib}"
            if not any(k + " out" in r for r in runs):
                continue
            c = lambda s: [r.get(f"{k} {s}") for r in runs]
            rows.append((mode, label, spread(c("out"), "{:.2f}"), spread(c("in"), "{:.2f}"),
                         spread(c("memcpy"), "{:.2f}"), spread(c("out/memcpy"), "{:.2f}"),
                         spread(c("in/memcpy"), "{:.2f}")))
    return table(("mode", "size", "out GB/s", "in GB/s", "memcpy GB/s", "out / memcpy",
                  "in / memcpy"), rows)


VK_RE = re.compile(r"^(window|bounce)\s+(\d+)K" + r"\s+([\d.]+)" * 9 + r"\s*$", re.M)
VK_DEVICE_RE = re.compile(r"^device: (.+)$", re.M)
VK_COLS = ("out", "in", "raw out", "raw in", "out/raw", "in/raw", "copies", "out/batch",
           "in/batch")


def vulkan(tools, quick):
    """paging_bench on the Vulkan driver (the first usable device: lavapipe
    where there is no GPU). Exit 77 (no usable device) is a skip, not a
    failure: the table then says so."""
    cmd = [os.path.join(tools, "paging_bench"), "--driver", "vulkan"] + (["--quick"] if quick
                                                                         else [])
    out, _ = run(cmd, 1800, ok=(0, 77))
    # Exit 77 opens no chip and prints nothing on stdout; anything printed
    # must parse, so a changed format fails here instead of passing as a skip.
    if not out.strip():
        return {"skipped": "no usable Vulkan device (paging_bench exit 77)"}
    v = {}
    for mode, kib, *vals in VK_RE.findall(out):
        for col, x in zip(VK_COLS, vals):
            v[f"{mode} {kib} {col}"] = float(x)
    m = VK_DEVICE_RE.search(out)
    if not m or not any(k.endswith(" out") for k in v):
        raise FigureError(f"{cmd[0]}: no figures or no device line in its output")
    v["device"] = m.group(1)
    return v


def vulkan_table(runs):
    skipped = [r["skipped"] for r in runs if "skipped" in r]
    if skipped:
        return f"Skipped: {skipped[0]}."
    rows = []
    for kib, label in (("64", "64 KiB"), ("2048", "2 MiB"), ("32768", "32 MiB")):
        k = f"window {kib}"
        c = lambda s: [r.get(f"{k} {s}") for r in runs]
        rows.append((label, spread(c("out"), "{:.2f}"), spread(c("in"), "{:.2f}"),
                     spread(c("raw out"), "{:.2f}"), spread(c("raw in"), "{:.2f}"),
                     spread(c("out/raw"), "{:.2f}"), spread(c("in/raw"), "{:.2f}"),
                     spread(c("out/batch"), "{:.2f}"), spread(c("in/batch"), "{:.2f}")))
    devices = sorted({r.get("device", "?") for r in runs})
    return (f"Device: {', '.join(devices)}.\n\n"
            + table(("size", "out GB/s", "in GB/s", "raw out GB/s", "raw in GB/s", "out / raw",
                     "in / raw", "out / batch", "in / batch"), rows))


SWAP_HEAD_RE = re.compile(r"^(\d+) KiB allocations:", re.M)
SWAP_ROW_RE = {
    "out": re.compile(r"swap-out \(pressure, batched\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"),
    "in": re.compile(r"swap-in \(1 thread, TOUCH jobs\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"),
    "in32": re.compile(r"swap-in \(32 threads, TOUCH jobs\)\s+([\d.]+)\s+([\d.]+)"),
    "insync": re.compile(r"swap-in, no read-ahead thread\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"
                         r".*thread on / off ([\d.]+)"),
    "lat": re.compile(r"swap-in latency per allocation: p50 ([\d.]+) us\s+p99 ([\d.]+) us"),
}


SWAP_DATA_RE = re.compile(r"data 2M=(\d+) MiB 64K=(\d+) MiB")


def fio(swap_dir, bs, mib):
    """fio's sequential O_DIRECT io_uring write, then read, of one file of mib
    MiB at queue depth 32 (swap_bench's depth and data size): MB/s each."""
    path = os.path.join(swap_dir, f".figures-fio-{os.getpid()}")
    common = ["fio", "--name=figures", f"--filename={path}", "--ioengine=io_uring",
              "--direct=1", f"--bs={bs}", "--iodepth=32", f"--size={mib}M",
              "--output-format=json"]
    try:
        w = json.loads(run(common + ["--rw=write"], 1800)[0])
        r = json.loads(run(common + ["--rw=read"], 1800)[0])
    except ValueError as e:
        raise FigureError(f"fio: unreadable JSON output: {e}")
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return (w["jobs"][0]["write"]["bw_bytes"] / 1e6, r["jobs"][0]["read"]["bw_bytes"] / 1e6)


def swap(tools, quick, swap_dir):
    cmd = [os.path.join(tools, "swap_bench"), "--dir", swap_dir] + (["--quick"] if quick else [])
    out, _ = run(cmd, 3600)
    v = {}
    # fio right after, on the same directory, block sizes and data sizes:
    # swap_bench then fio in every invocation, A B A B over invocations.
    m = SWAP_DATA_RE.search(out)
    if m and shutil.which("fio"):
        for size, bs, mib in (("2 MiB", "2M", m.group(1)), ("64 KiB", "64k", m.group(2))):
            v[f"{size} fio write"], v[f"{size} fio read"] = fio(swap_dir, bs, mib)
    heads = list(SWAP_HEAD_RE.finditer(out))
    for i, h in enumerate(heads):
        block = out[h.start():heads[i + 1].start() if i + 1 < len(heads) else len(out)]
        size = "2 MiB" if h.group(1) == "2048" else f"{h.group(1)} KiB"
        m = SWAP_ROW_RE["out"].search(block)
        if m:
            v[f"{size} out"], v[f"{size} raw write"], v[f"{size} out ratio"] = map(float, m.groups())
        m = SWAP_ROW_RE["in"].search(block)
        if m:
            v[f"{size} in"], v[f"{size} raw read"], v[f"{size} in ratio"] = map(float, m.groups())
        m = SWAP_ROW_RE["insync"].search(block)
        if m:
            v[f"{size} in sync ratio"], v[f"{size} in thread gain"] = float(m.group(3)), float(m.group(4))
        m = SWAP_ROW_RE["in32"].search(block)
        if m:
            v[f"{size} in32 ratio"] = float(m.group(2))
        m = SWAP_ROW_RE["lat"].search(block)
        if m:
            v[f"{size} in p50 us"], v[f"{size} in p99 us"] = map(float, m.groups())
        if f"{size} fio write" in v and f"{size} out" in v:
            v[f"{size} out / fio"] = v[f"{size} out"] / v[f"{size} fio write"]
        if f"{size} fio read" in v and f"{size} in" in v:
            v[f"{size} in / fio"] = v[f"{size} in"] / v[f"{size} fio read"]
    if not any(k.endswith(" out") for k in v):
        raise FigureError(f"{cmd[0]}: no figures in its output")
    return v


def swap_table(runs):
    rows = []
    for size in ("2 MiB", "64 KiB"):
        if not any(f"{size} out" in r for r in runs):
            continue
        c = lambda s: [r.get(f"{size} {s}") for r in runs]
        rows.append((size, spread(c("out")), spread(c("raw write")), spread(c("out ratio"), "{:.2f}"),
                     spread(c("fio write")), spread(c("out / fio"), "{:.2f}"),
                     spread(c("in")), spread(c("raw read")), spread(c("in ratio"), "{:.2f}"),
                     spread(c("fio read")), spread(c("in / fio"), "{:.2f}"),
                     spread(c("in sync ratio"), "{:.2f}"), spread(c("in thread gain"), "{:.2f}"),
                     spread(c("in32 ratio"), "{:.2f}"),
                     f"{spread(c('in p50 us'))} µs / {spread(c('in p99 us'))} µs"))
    return table(("allocation", "swap-out MB/s", "raw write", "ratio", "fio write", "ratio",
                  "swap-in MB/s", "raw read", "ratio", "fio read", "ratio",
                  "without the read-ahead thread: ratio", "thread on / off",
                  "32-thread swap-in ratio", "swap-in p50 / p99"), rows)


MICRO_FILTER = "^BM_fence_submit/|^BM_fence_signal_to_wake|^BM_gart_map_unmap/pages:(512|262144)/"


def micro(build, quick):
    exe = os.path.join(build, "bench", "micro", "vidmm-micro")
    with tempfile.TemporaryDirectory(prefix="figures-micro.") as d:
        out = os.path.join(d, "m.json")
        run([exe, f"--benchmark_filter={MICRO_FILTER}",
             f"--benchmark_min_time={'0.01' if quick else '0.5'}",
             f"--benchmark_out={out}", "--benchmark_out_format=json"], 1800)
        with open(out) as f:
            doc = json.load(f)
    v = {}
    for b in doc.get("benchmarks", []):
        name = b["name"].replace("/manual_time", "")
        if b.get("error_occurred"):
            raise FigureError(f"vidmm-micro: {name}: {b.get('error_message')}")
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        v[name + " ns"] = b["real_time"] * scale
        for k in ("p50_ns", "p99_ns", "core_p50_ns", "items_per_second"):
            if k in b:
                v[f"{name} {k}"] = b[k]
    if not v:
        raise FigureError("vidmm-micro: no benchmarks ran")
    return v


def micro_table(runs):
    rows = []
    names = [k[:-3] for k in runs[0] if k.startswith("BM_fence_submit/") and k.endswith(" ns")]
    for n in names:
        c = lambda s: [r.get(f"{n} {s}") for r in runs]
        rows.append((f"`{n}`", spread(c("ns")) + " ns", spread(c("core_p50_ns")) + " ns"))
    n = "BM_fence_signal_to_wake"
    c = lambda s: [r.get(f"{n} {s}") for r in runs]
    rows.append((f"`{n}`", "p50 " + spread(c("p50_ns")) + " ns, p99 " + spread(c("p99_ns")) + " ns",
                 "–"))
    for pages in ("512", "262144"):
        for batch, what in (("1", "one TLB invalidation per call"),
                            ("0", "one invalidation per page")):
            n = f"BM_gart_map_unmap/pages:{pages}/batch:{batch}"
            c = [r.get(f"{n} items_per_second") for r in runs]
            if any(x is not None for x in c):
                rows.append((f"`{n}`", spread([x / 1e6 if x else None for x in c], "{:,.1f}")
                             + " M PTEs/s", what))
    return table(("benchmark", "time per submit (manual time) / per-call figure",
                  "core's own submit p50 / note"), rows)


SUITE_RE = re.compile(r"suite quick: (\d+) runs, (\d+) failed.*?wall ([\d.]+) s, peak RSS ([\d.]+) "
                      r"MiB \(vidmm-micro ([\d.]+)")
OVERHEAD_RE = re.compile(r"median of (\d+) pair ratios ([\d.]+), (\d+)% interval \[([\d.]+), ([\d.]+)\]")
OVERHEAD_VERDICT_RE = re.compile(r"budget 3% \(ratio >= 0.97\): (\w+)")


def _suite_remeasured(path):
    """How many runs the suite measured again because other work on the
    machine took CPUs in their window (runner.c): the suite's wall time
    grows with it, so the table states it beside the wall. None when the
    results file does not say."""
    try:
        with open(path) as f:
            runs = json.load(f)["runs"]
        return sum(int(r["host_load"]["remeasured"]) for r in runs if r.get("host_load"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def harness(bench, quick):
    v = {}
    with tempfile.TemporaryDirectory(prefix="figures-suite.") as d:
        args = [bench, "suite", "quick", "--out-dir", d, "--quiet", "--seed", "1"]
        if quick:
            args += ["--repeat", "1"]
        out, wall = run(args, 3600)
        remeasured = _suite_remeasured(os.path.join(d, "results.json"))
    m = SUITE_RE.search(out)
    if not m:
        raise FigureError(f"vidmm-bench suite quick: no summary line in its output:\n{out[-2000:]}")
    v["suite runs"], v["suite failed"] = int(m.group(1)), int(m.group(2))
    v["suite wall s"], v["suite own wall s"] = wall, float(m.group(3))
    v["suite rss MiB"], v["micro rss MiB"] = float(m.group(4)), float(m.group(5))
    v["suite remeasured"] = remeasured
    out, _ = run([bench, "overhead", "--rounds", "3" if quick else "11"]
                 + (["--ops", "20000"] if quick else []), 3600)
    m = OVERHEAD_RE.search(out)
    if not m:
        raise FigureError(f"vidmm-bench overhead: no ratio in its output:\n{out[-2000:]}")
    v["overhead ratio"], v["overhead lo"], v["overhead hi"] = (float(m.group(2)), float(m.group(4)),
                                                              float(m.group(5)))
    v["overhead conf"] = int(m.group(3))
    vm = OVERHEAD_VERDICT_RE.search(out)
    v["overhead verdict"] = vm.group(1) if vm else "?"
    return v


SCALE_ROW_RE = re.compile(r"^(private|shared)\s+(resident|2x local)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+"
                          r"([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\|\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+\|"
                          r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\|\s+([\d.]+)"
                          r"(?:\s+\|\s+(\d+)\s+([\d.]+))?", re.M)
# The last two (the null engine's) are on resident rows only.
SCALE_FIELDS = ("ops", "ratio", "p50 us", "p99 us", "fast %", "locked ops", "locked ratio",
                "fast/locked", "lock/sub", "waited %", "hold mean us", "hold p99 us", "resv waited %",
                "null ops", "null ratio")
SCALE_INTF_RE = re.compile(r"^(resident submit|vidmm_query_stats)\s+n=(\d+)\s+p50\s+([\d.]+) us\s+"
                           r"p99\s+([\d.]+) us\s+max\s+([\d.]+) us", re.M)


def scale(tools, quick):
    cmd = [os.path.join(tools, "scale_bench")] + (["--quick"] if quick else [])
    out, _ = run(cmd, 1800)
    v = {}
    for m in SCALE_ROW_RE.finditer(out):
        k = f"{m.group(1)} {m.group(2)} {m.group(3)}"
        for i, f in enumerate(SCALE_FIELDS):
            if m.group(4 + i) is not None:
                v[f"{k} {f}"] = float(m.group(4 + i))
    for m in SCALE_INTF_RE.finditer(out):
        for i, f in enumerate(("n", "p50 us", "p99 us", "max us")):
            v[f"interference {m.group(1)} {f}"] = float(m.group(2 + i))
    if not any(k.endswith(" ops") for k in v):
        raise FigureError(f"{cmd[0]}: no table in its output:\n{out[-2000:]}")
    return v


def scale_table(runs):
    cells = []
    for k in runs[0]:
        if k.endswith(" ops") and not k.endswith((" locked ops", " null ops")):
            cells.append(k[:-4])
    rows = []
    for cell in cells:
        c = lambda s: [r.get(f"{cell} {s}") for r in runs]
        st, mem, thr = cell.rsplit(" ", 1)[0].split(" ", 1) + [cell.rsplit(" ", 1)[1]]
        rows.append((st, mem, thr, spread(c("ops"), "{:,.0f}"), spread(c("ratio"), "{:.2f}"),
                     spread(c("p50 us"), "{:.1f}") + " / " + spread(c("p99 us"), "{:,.1f}"),
                     spread(c("fast %"), "{:.1f}"), spread(c("locked ops"), "{:,.0f}"),
                     spread(c("locked ratio"), "{:.2f}"), spread(c("fast/locked"), "{:.2f}"),
                     spread(c("lock/sub"), "{:.2f}"), spread(c("waited %"), "{:.2f}"),
                     spread(c("hold mean us"), "{:.2f}"), spread(c("hold p99 us"), "{:,.1f}"),
                     spread(c("resv waited %"), "{:.2f}"),
                     spread(c("null ops"), "{:,.0f}"), spread(c("null ratio"), "{:.2f}")))
    t = table(("set", "memory", "threads", "submits/s", "x 1 thread", "submit p50 / p99 us",
               "fast path %", "locked path submits/s", "locked x 1 thread", "fast / locked",
               "manager lock per call", "waited %", "hold mean us", "hold p99 us",
               "reservations waited %", "null engine submits/s", "null x 1 thread"), rows)
    irows = []
    for what in ("resident submit", "vidmm_query_stats"):
        c = lambda s: [r.get(f"interference {what} {s}") for r in runs]
        if any(x is not None for x in c("p99 us")):
            irows.append((f"`{what}`", spread(c("p50 us"), "{:.1f}"), spread(c("p99 us"), "{:.1f}"),
                          spread(c("max us"), "{:,.1f}")))
    if irows:
        t += "\n\nWhile another client thrashes (3x local memory, every copy fence 10 ms late):\n\n"
        t += table(("call", "p50 us", "p99 us", "max us"), irows)
    return t


PIPELINE_LOADS = (("oversubscribe", "jobs"), ("game-frame", "frames"))


def pipeline(bench, quick, swap_dir):
    """Each workload on profile default (2 copy engines) with --paging sync and
    pipelined, back to back in alternating order (A B, then B A next time), so a
    slow stretch of the machine does not land on one mode."""
    v = {}
    dur = "1" if quick else "5"
    order = ("sync", "pipelined") if pipeline.flip % 2 == 0 else ("pipelined", "sync")
    pipeline.flip += 1
    with tempfile.TemporaryDirectory(prefix="figures-pipeline.") as d:
        for wl, unit in PIPELINE_LOADS:
            for mode in order:
                out = os.path.join(d, f"{wl}-{mode}.json")
                run([bench, "run", wl, "--profile", "default", "--paging", mode, "--duration", dur,
                     "--seed", "1", "--quiet", "--swap-dir", swap_dir, "--out", out], 900)
                with open(out) as f:
                    r = json.load(f)["runs"][0]
                st = r["vidmm"]
                k = f"{wl} {mode}"
                v[f"{k} units/s"] = r["metrics"]["units_per_sec"]
                v[f"{k} waits/page-in"] = (st["paging_cpu_waits"] / st["page_ins"]
                                           if st.get("page_ins") else 0.0)
                v[f"{k} page-ins"] = st.get("page_ins", 0)
                lat = r.get("latency", {})
                key = "frame" if "frame" in lat else "submit"
                v[f"{k} p99 ms"] = lat.get(key, {}).get("p99_ns", 0) / 1e6
            v[f"{wl} ratio"] = (v[f"{wl} pipelined units/s"] / v[f"{wl} sync units/s"]
                                if v[f"{wl} sync units/s"] else 0.0)
    return v


pipeline.flip = 0


def pipeline_table(runs):
    rows = []
    for wl, unit in PIPELINE_LOADS:
        c = lambda s: [r.get(f"{wl} {s}") for r in runs]
        lat = "frame" if wl == "game-frame" else "submit"
        for mode in ("sync", "pipelined"):
            rows.append((wl, mode, spread(c(f"{mode} units/s"), "{:,.1f}") + f" {unit}/s",
                         spread(c(f"{mode} p99 ms"), "{:,.2f}") + f" ms ({lat})",
                         spread(c(f"{mode} waits/page-in"), "{:.2f}"),
                         spread(c(f"{mode} page-ins"), "{:,.0f}")))
        rows.append((wl, "**pipelined / sync**", spread(c("ratio"), "{:.2f}"), "", "", ""))
    return table(("workload", "paging", "throughput", "p99", "CPU waits per page-in",
                  "page-ins"), rows)


def harness_table(runs):
    c = lambda s: [r.get(s) for r in runs]
    rows = [
        ("`vidmm-bench suite quick`: wall, the whole command", spread(c("suite wall s"), "{:.1f}") + " s"),
        ("… the suite's own clock", spread(c("suite own wall s"), "{:.1f}") + " s"),
        ("… runs measured again because other work took CPUs (runner.c)",
         spread(c("suite remeasured"), "{:.0f}")),
        ("… peak RSS, vidmm-bench", spread(c("suite rss MiB"), "{:.0f}") + " MiB"),
        ("… peak RSS, the vidmm-micro child", spread(c("micro rss MiB"), "{:.0f}") + " MiB"),
        ("statistics on/off (`vidmm-bench overhead`), median pair ratio",
         "; ".join(f"{r['overhead ratio']:.3f} [{r['overhead lo']:.3f}, {r['overhead hi']:.3f}] "
                   f"({r['overhead conf']}% interval): {r['overhead verdict']}" for r in runs)),
    ]
    return table(("figure", "median [min, max] over invocations"), rows)


# ---- the ratios, and checking one run against another ---------------------------------------


def ratios(section, v):
    """{name: value} of the ratios README's tables state, from one invocation's
    values v of section. A ratio divides two figures measured by one program
    in one invocation (the "/ fio" ones: swap_bench and the fio run right
    after it), so it should travel between minutes and machines better than
    the absolute times and rates (ns, MB/s, us) it is made of, which drift
    with the machine's load and are not here. Ratios that are 1 by
    definition (one thread against one thread) are left out."""
    def pick(pred):
        return {k: x for k, x in v.items() if isinstance(x, (int, float)) and pred(k)}
    if section == "heap":
        r = pick(lambda k: k.startswith("cmp ") and k.endswith(("new/ref", "old/ref")))
        for n in ("1000", "10000", "100000"):
            b, f = v.get(f"baseline {n} steady pair"), v.get(f"best-fit {n} steady pair")
            if b and f:
                r[f"original / best fit {n}"] = b / f
        return r
    if section == "paging":
        return pick(lambda k: k.endswith("/memcpy"))
    if section == "vulkan":  # the table shows window mode only
        return pick(lambda k: k.startswith("window ") and k.endswith(("/raw", "/batch")))
    if section == "swap":
        return pick(lambda k: k.endswith((" ratio", " thread gain", "/ fio")))
    if section == "scale":
        return pick(lambda k: k.endswith((" ratio", " fast/locked", " lock/sub"))
                    and not k.endswith((" 1 ratio", " 1 locked ratio", " 1 null ratio")))
    if section == "pipeline":
        return pick(lambda k: k.endswith((" ratio", " waits/page-in")))
    if section == "harness":
        return pick(lambda k: k.endswith(" ratio"))
    return {}  # micro: absolute times only


def load_doc(path):
    """A figures.json, checked enough that a wrong file is refused by name."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    except ValueError as e:
        raise InputError(f"{path}: not a figures.json (not JSON: {e})")
    sections = [s[0] for s in SECTIONS]
    if not isinstance(doc, dict) or not isinstance(doc.get("machine"), dict) \
            or not isinstance(doc.get("values"), dict):
        raise InputError(f"{path}: not a figures.json (no 'machine' and 'values')")
    for name, runs in doc["values"].items():
        if name not in sections:
            raise InputError(f"{path}: unknown section '{name}'")
        if not isinstance(runs, list) or not runs or \
                not all(isinstance(r, dict) for r in runs):
            raise InputError(f"{path}: section '{name}' is not a list of invocations")
    for key in ("cpu", "cpus", "memory", "kernel", "rev", "date"):
        if key not in doc["machine"]:
            raise InputError(f"{path}: the machine has no '{key}'")
    # files written before the machine named its code: the revision is it
    doc["machine"].setdefault("code", doc["machine"]["rev"])
    return doc


# What must be the same for two runs' figures to be one population.
SAME = ("cpu", "cpus", "memory", "kernel", "disk", "build", "code")


def pool(paths):
    """One document from several runs' figures.json: their invocations
    concatenated per section. Refused unless every run is of one machine,
    disk, build and code revision and of one kind (all --quick or none); the
    revision (HEAD) may differ where only prose, tests or figures.sh/.py
    changed. One run given twice is refused: it would count its invocations
    twice."""
    docs = [load_doc(p) for p in paths]
    first, seen = docs[0], {}
    for p, d in zip(paths, docs):
        key = (d["machine"]["date"], d["machine"]["rev"])
        if key in seen:
            raise InputError(f"{p}: the same run as {seen[key]} ({key[0]}, rev {key[1]}): "
                             "a run pooled twice would count its invocations twice")
        seen[key] = p
    def same(key, x, y):
        if key != "code" or x is None or y is None:
            return x == y
        # abbreviated hashes of different lengths name one commit
        (hx, _, dx), (hy, _, dy) = x.partition("+"), y.partition("+")
        return dx == dy and min(len(hx), len(hy)) >= 7 and (hx.startswith(hy) or hy.startswith(hx))

    for p, d in zip(paths[1:], docs[1:]):
        for key in SAME:
            if not same(key, d["machine"].get(key), first["machine"].get(key)):
                raise InputError(f"{p}: machine '{key}' is {d['machine'].get(key)!r}, "
                                 f"{paths[0]} has {first['machine'].get(key)!r}: "
                                 "only runs of one machine, build and code revision pool")
        if bool(d.get("quick")) != bool(first.get("quick")):
            raise InputError(f"{p}: a --quick run and a full run do not pool")
    m = dict(first["machine"])
    m["date"] = ", ".join(d["machine"]["date"] for d in docs)
    values, sources = {}, {}
    for d in docs:
        for name, runs in d["values"].items():
            values.setdefault(name, []).extend(runs)
            sources.setdefault(name, []).append(d["machine"]["date"])
    return {"machine": m, "quick": bool(first.get("quick")),
            "pooled_from": [d["machine"]["date"] for d in docs], "sources": sources,
            "values": values}


def p_inside(n, k):
    """(low, high): bounds on the chance that the median of k new values falls
    inside [min, max] of n earlier ones when all n + k are exchangeable (drawn
    alike: no drift between the runs) and untied. By ranks alone, no
    distribution assumed. For k odd both are the exact chance (n = 6, k = 3:
    5/6). For k even the median is the mean of the middle two, which ranks do
    not place: it is outside if both middle values are, and only if one is.
    Figures printed to two decimals tie often, and a tie with a bound counts
    as inside, so on real output the chance runs higher than this."""
    def below_all(m):
        # at least m of the k new values rank below every old one
        tot = 0.0
        for j in range(m, k + 1):
            # exactly j new values first, then an old one
            tot += (math.perm(k, j) / math.perm(n + k, j)) * (n / (n + k - j))
        return tot

    if k % 2:
        p = max(0.0, 1.0 - 2.0 * below_all((k + 1) // 2))
        return p, p
    return max(0.0, 1.0 - 2.0 * below_all(k // 2)), max(0.0, 1.0 - 2.0 * below_all(k // 2 + 1))


def far_outside(m, lo, hi):
    """Outside [lo, hi] by more than the spread's own width plus a tenth of
    the nearer bound: not drift a rerun's median shows, but a change."""
    slack = (hi - lo) + 0.1 * abs(hi if m > hi else lo)
    return m > hi + slack or m < lo - slack


def check(base, values, base_name, pooled_note=""):
    """(inside, total, expected (low, high), far, markdown): every ratio of
    base that values also has, with this run's median against base's median
    [min, max]; ratios of base this run lacks are listed. InputError if there
    is nothing to compare."""
    rows, missing, inside, total, far = [], [], 0, 0, 0
    exp_lo = exp_hi = var = 0.0
    for name, *_ in SECTIONS:
        if name not in base["values"]:
            continue
        stated, now = {}, {}
        for r in base["values"][name]:
            for k, x in ratios(name, r).items():
                stated.setdefault(k, []).append(x)
        for r in values.get(name, []):
            for k, x in ratios(name, r).items():
                now.setdefault(k, []).append(x)
        for k in stated:
            if k not in now:
                missing.append(f"{name}: {k}")
                continue
            lo, hi, m = min(stated[k]), max(stated[k]), statistics.median(now[k])
            total += 1
            pl, ph = p_inside(len(stated[k]), len(now[k]))
            exp_lo, exp_hi, var = exp_lo + pl, exp_hi + ph, var + pl * (1 - pl)
            if lo <= m <= hi:
                inside += 1
                verdict = "inside"
            else:
                side, bound = ("above", hi) if m > hi else ("below", lo)
                by = f" by {100 * abs(m - bound) / abs(bound):.1f}%" if bound else ""
                verdict = f"**{side}**{by}"
                if far_outside(m, lo, hi):
                    far += 1
                    verdict += ", **far outside**"
            rows.append((name, k, f"{statistics.median(stated[k]):.3f} [{lo:.3f}, {hi:.3f}] "
                         f"(n={len(stated[k])})", f"{m:.3f} (n={len(now[k])})", verdict))
    if not total:
        raise InputError(f"--check {base_name}: no ratio of it is in this run "
                         "(other sections, or no ratios in them)")
    expected = f"{exp_lo:.1f}" if abs(exp_hi - exp_lo) < 0.05 else f"between {exp_lo:.1f} and {exp_hi:.1f}"
    bm = base["machine"]
    md = [f"Check of this run{pooled_note} against {base_name} ({bm['date']}; rev {bm['rev']}, "
          f"code {bm['code']}): **{inside} of {total}** ratio medians inside the stated [min, max]; "
          f"{expected} expected if the runs were exchangeable, that is with no drift between "
          "them (by ranks alone: the chance that the median of k new invocations falls inside "
          "the range of n earlier ones; ties, common in figures printed to two decimals, count "
          f"as inside and raise it). Far outside (more than the spread's width plus 10% beyond "
          f"it): {far}.", ""]
    md.append(table(("section", "ratio", "stated median [min, max]", "this run's median",
                     "verdict"), rows))
    if missing:
        md += ["", "In the stated file but not in this run: " + "; ".join(missing) + "."]
    return inside, total, (exp_lo, exp_hi, var ** 0.5), far, "\n".join(md) + "\n"


SECTIONS = (
    # name, title, the command README names, runner, table
    ("heap", "Heap", "build/bench/tools/heap_bench", "ns per alloc+free pair (each invocation's "
     "median over timed batches), beside the original driver's heap in the same run"),
    ("paging", "Residency", "build/bench/tools/paging_bench", "page-out and page-in through the "
     "paging segment (profile default, one copy engine), beside a single-thread memcpy in the "
     "same run"),
    ("vulkan", "Residency on the Vulkan driver", "build/bench/tools/paging_bench --driver vulkan",
     "window-mode page-out and page-in through the manager on the first usable Vulkan device "
     "(lavapipe where there is no GPU: its copies are CPU memcpys, so a ratio is the manager's "
     "and the driver's cost, not the bus's), beside a raw vkCmdCopyBuffer of the same bytes "
     "between the same memory types in the same run: one submit and host wait per allocation "
     "(raw), or all in one submit (batch)"),
    ("micro", "Submit, fences and the GART", "build/bench/micro/vidmm-micro --benchmark_filter='"
     + MICRO_FILTER + "'", "Google Benchmark, manual time"),
    ("swap", "Swap", "build/bench/tools/swap_bench; fio", "the manager against raw O_DIRECT "
     "io_uring on the same directory, block size and queue depth, in the same run (ratio), and "
     "against fio's sequential io_uring write and read of swap_bench's data size at the same "
     "block size and depth, run right after it in each invocation (ratio to fio)"),
    ("scale", "Scaling with clients", "build/bench/tools/scale_bench", "submits per second of "
     "TOUCH jobs (4 references) with 1..16 client threads, private or shared sets, resident or "
     "twice local memory, as the ratio to one thread in the same run, each cell with the "
     "resident-submit fast path on and off and, on resident sets, the fast path with the "
     "emulator retiring TOUCH jobs unread (null engine; A B C, then C B A), with the manager "
     "lock's and the reservations' statistics over each cell; then one client's calls while "
     "another thrashes"),
    ("pipeline", "Pipelined paging", "vidmm-bench run oversubscribe|game-frame --profile default "
     "--paging sync|pipelined", "throughput, p99 (frame time for game-frame, submit latency for "
     "oversubscribe) and CPU waits per page-in (`paging_cpu_waits` / `page_ins`), each mode "
     "5 s, the two modes back to back in alternating order"),
    ("harness", "The harness", "vidmm-bench suite quick; vidmm-bench overhead", "the main job's "
     "cost, and what the statistics cost"),
)


def main(argv):
    doc = __doc__.split("\n\n")
    ap = argparse.ArgumentParser(prog="figures.sh", description=doc[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(p for p in doc[1:]
                                                      if not p.startswith(("Usage:", "Owns:"))))
    ap.add_argument("--quick", action="store_true", help="smallest settings, one invocation each")
    ap.add_argument("--runs", type=int, default=None, help="invocations per program (default 3)")
    ap.add_argument("--out", default=None, help="output directory (default results/figures-DATE)")
    ap.add_argument("--build", default="build", help="the build directory (default build)")
    ap.add_argument("--only", default=None, help="comma-separated sections: "
                    + ", ".join(s[0] for s in SECTIONS))
    ap.add_argument("--swap-dir", default=os.environ.get("TMPDIR") or "/tmp")
    ap.add_argument("--from", dest="pool", nargs="+", metavar="FILE", default=None,
                    help="run nothing: pool these runs' figures.json and write the tables")
    ap.add_argument("--check", metavar="FILE", default=None,
                    help="compare this run's ratios with the spreads of FILE (a figures.json)")
    a = ap.parse_args(argv)
    if a.pool and (a.quick or a.runs is not None):
        ap.error("--from runs nothing: --quick and --runs do not go with it")
    runs = a.runs if a.runs is not None else (1 if a.quick else 3)
    if runs < 1 or runs > 50:
        ap.error(f"--runs {runs}: between 1 and 50")
    only = a.only.split(",") if a.only else [s[0] for s in SECTIONS]
    for o in only:
        if o not in [s[0] for s in SECTIONS]:
            ap.error(f"--only {o}: not a section ({', '.join(s[0] for s in SECTIONS)})")
    bench = os.path.join(a.build, "bench", "vidmm-bench")
    tools = os.path.join(a.build, "bench", "tools")
    if not a.pool and not os.access(bench, os.X_OK):
        ap.error(f"--build {a.build}: no vidmm-bench in it (build first: meson compile -C {a.build})")
    if not os.path.isdir(a.swap_dir):
        ap.error(f"--swap-dir {a.swap_dir}: not a directory")
    # Input files are read before anything runs or is written.
    try:
        pooled = pool(a.pool) if a.pool else None
        base = load_doc(a.check) if a.check else None
        if base and bool(base.get("quick")) != bool(pooled["quick"] if pooled else a.quick):
            raise InputError(f"--check {a.check}: a --quick run and a full run do not compare")
    except InputError as e:
        print(f"figures.sh: {e}", file=sys.stderr)
        return 2
    out_dir = a.out or os.path.join("results", "figures-" + time.strftime("%Y%m%d-%H%M%S"))
    parent = out_dir
    while not os.path.isdir(parent):  # the nearest directory that exists
        up = os.path.dirname(os.path.abspath(parent))
        if up == os.path.abspath(parent):
            break
        parent = up
    if not os.access(parent, os.W_OK) or (os.path.exists(out_dir) and not os.path.isdir(out_dir)):
        ap.error(f"--out {out_dir}: not a writable directory")

    do = {
        "heap": (lambda: heap(tools, a.quick), heap_table),
        "paging": (lambda: paging(tools, a.quick), paging_table),
        "vulkan": (lambda: vulkan(tools, a.quick), vulkan_table),
        "micro": (lambda: micro(a.build, a.quick), micro_table),
        "swap": (lambda: swap(tools, a.quick, a.swap_dir), swap_table),
        "scale": (lambda: scale(tools, a.quick), scale_table),
        "pipeline": (lambda: pipeline(bench, a.quick, a.swap_dir), pipeline_table),
        "harness": (lambda: harness(bench, a.quick), harness_table),
    }
    if pooled:
        m, quick = pooled["machine"], pooled["quick"]
        values = {k: v for k, v in pooled["values"].items() if k in only}
        src = pooled["sources"]
        over = lambda name: (f"{len(values[name])} invocation(s) in {len(src[name])} runs "
                             f"({'; '.join(src[name])})")
        head = (f"<!-- scripts/figures.sh --from: {len(pooled['pooled_from'])} runs pooled, "
                "each with its program invocations interleaved -->")
        print(machine_line(m), flush=True)
    else:
        m, quick = machine(a.build, a.swap_dir), a.quick
        print(machine_line(m), flush=True)
        values = {}
        # Interleaved: invocation k of every program before k + 1 of any, so a
        # slow minute of the machine lands on every table, not on one.
        for k in range(runs):
            for name in only:
                print(f"figures: {name}, invocation {k + 1} of {runs}", flush=True)
                values.setdefault(name, []).append(do[name][0]())
        over = lambda name: f"{len(values[name])} invocation(s)"
        head = (f"<!-- scripts/figures.sh{' --quick' if quick else ''}: {runs} invocation(s) of "
                "each program, interleaved -->")
    md = [head, "", machine_line(m), ""]
    try:
        for name, title, cmd, what in SECTIONS:
            if name not in values:
                continue
            md += [f"#### {title}: `{cmd}`", "", f"{what}; median [min, max] over {over(name)}.",
                   "", do[name][1](values[name]), ""]
        doc = {"machine": m, "quick": quick, "runs": {k: len(v) for k, v in values.items()},
               "values": values}
        if pooled:
            doc["pooled_from"], doc["sources"] = pooled["pooled_from"], pooled["sources"]
        files = [("figures.json", json.dumps(doc, indent=1) + "\n"), ("figures.md", "\n".join(md))]
        if base:
            note = f" ({len(pooled['pooled_from'])} runs pooled)" if pooled else ""
            inside, total, (exp_lo, exp_hi, sd), far, cmd_md = check(base, values, a.check, note)
            files.append(("check.md", machine_line(m) + "\n\n" + cmd_md))
    except InputError as e:
        print(f"figures.sh: {e}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        if not pooled:
            raise
        # stored figures that do not hold what a table needs
        print(f"figures.sh: --from {' '.join(a.pool)}: not the figures a table needs "
              f"({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    # Whole or absent: written under temporary names, then renamed.
    for fname, text in files:
        tmp = os.path.join(out_dir, "." + fname + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out_dir, fname))
    print(f"figures: {os.path.join(out_dir, 'figures.md')} and figures.json written")
    if base:
        print(f"figures: check against {a.check}: {inside} of {total} ratio medians inside the "
              f"stated [min, max] ({exp_lo:.1f} expected without drift), {far} far outside "
              f"({os.path.join(out_dir, 'check.md')})")
        # Some ratios outside is what a rerun shows even without drift (see
        # p_inside): the alarm is clearly fewer inside than that (two
        # standard deviations of the count if the ratios were independent;
        # they are not, so this is lenient), or one far outside.
        if far or inside < exp_lo - 2 * sd:
            return 3
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except FigureError as e:
        print(f"figures: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)

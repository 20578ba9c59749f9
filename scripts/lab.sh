#!/usr/bin/env bash
# Regenerates README's eviction-lab table: records the oversubscribe and
# game-frame workloads (tiny profile, fixed seeds), runs `vidmm-bench analyze`
# on them and on the PyTorch step in traces/, and writes DIR/lab.md (the
# table README pastes), DIR/*.svg (a chart per trace) and DIR/*.json
# (analyze's documents; `vidmm-bench report` draws each). Options go to scripts/lab.py: --out DIR, --build DIR,
# --quick (fewer calls recorded; a smoke run).
# The figures are byte counts of deterministic replays: no idle machine needed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/prepare-build.sh "$@"
exec /usr/bin/python3 scripts/lab.py "$@"

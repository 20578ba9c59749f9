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
build=build
for ((i = 1; i <= $#; i++)); do
	[ "${!i}" = "--build" ] && { j=$((i + 1)); build=${!j:-build}; }
done
if [ -z "${VIDMM_FIGURES_NO_SETUP:-}" ]; then
	./scripts/setup.sh
	[ -f "$build/build.ninja" ] || meson setup "$build"
	meson compile -C "$build" >/dev/null || { meson compile -C "$build"; exit 1; }
fi
exec /usr/bin/python3 scripts/lab.py "$@"

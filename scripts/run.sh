#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs vidmm-bench's
# default work on the emulated GPU, writing results under results/<timestamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
out="results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
{
	echo "# vidmm-bench main job, $(date -u)"
	./build/bench/vidmm-smoke tiny 20000
	./build/bench/heap_bench --quick
} 2>&1 | tee "$out/summary.txt"
echo "results: $out/summary.txt"

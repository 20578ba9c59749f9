#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the quick suite
# (every workload family with verification, 5 repetitions of each, plus the
# microbenchmarks) on the emulated GPU. Results go to results/<timestamp>/:
# results.json (one document: context and runs), summary.md (tables),
# report.html (charts), micro.json (Google Benchmark JSON). Extra arguments
# go to the suite (e.g. --seed N, --repeat N).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ ! -f build/build.ninja ]; then
	echo "run.sh: configuring build/ (meson setup build)"
	meson setup build
fi
# The build's own output, errors included: a failed build says why.
echo "run.sh: building (meson compile -C build)"
if ! meson compile -C build; then
	echo "run.sh: the build failed (the compiler's messages are above)" >&2
	exit 1
fi
out="results/$(date -u +%Y%m%dT%H%M%SZ)"
rc=0
./build/bench/vidmm-bench suite quick --out-dir "$out" "$@" || rc=$?
if [ -f "$out/results.json" ]; then
	echo "results: $out/results.json"
	[ -f "$out/summary.md" ] && echo "summary: $out/summary.md"
	[ -f "$out/report.html" ] && echo "report:  $out/report.html"
fi
exit $rc

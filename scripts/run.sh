#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the quick suite
# (every workload family once, with verification, plus a short set of
# microbenchmarks) on the emulated GPU. Results go to results/<timestamp>/:
# results.json (one document: context and runs), summary.md (tables),
# micro.json (Google Benchmark JSON). Extra arguments go to the suite
# (e.g. --seed N).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
out="results/$(date -u +%Y%m%dT%H%M%SZ)"
rc=0
./build/bench/vidmm-bench suite quick --out-dir "$out" "$@" || rc=$?
if [ -f "$out/summary.md" ]; then
	echo "summary: $out/summary.md"
	echo "results: $out/results.json"
fi
exit $rc

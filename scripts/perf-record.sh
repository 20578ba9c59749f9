#!/usr/bin/env bash
# Runs one workload under `perf record -g` with the options that work on
# this project's builds (frame pointers everywhere; cpu-clock asked for by
# name, since a VM without a PMU makes perf fall back to it silently), and
# prints the commands that read the profile. docs/perf-analysis.md explains
# what to look for.
#
#   scripts/perf-record.sh WORKLOAD [run options]
#   e.g. scripts/perf-record.sh oversubscribe --duration 5 --threads 2
#
# Environment: BUILD (default build), OUT (default perf-WORKLOAD.data),
# FREQ (samples per second per CPU, default 2000), CALLGRAPH (fp, the
# default, or dwarf: complete stacks through frame-pointer-less libraries at
# about 100x the file size).
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -lt 1 ] && exit 2 || exit 0
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-$here/build}"
bin="$build/bench/vidmm-bench"
wl="$1"
shift
out="${OUT:-perf-$wl.data}"
freq="${FREQ:-2000}"
cg="${CALLGRAPH:-fp}"

if ! command -v perf >/dev/null 2>&1; then
  echo "perf-record.sh: perf is not installed (Debian: linux-perf)" >&2
  exit 2
fi
if [ ! -x "$bin" ]; then
  echo "perf-record.sh: $bin is missing: build first (meson compile -C $build)" >&2
  exit 2
fi
case "$cg" in
  fp|dwarf) ;;
  *) echo "perf-record.sh: CALLGRAPH must be fp or dwarf, not '$cg'" >&2; exit 2 ;;
esac
# The workload's own options are checked by vidmm-bench before perf starts.
"$bin" run "$wl" "$@" --help >/dev/null 2>&1 || {
  "$bin" run "$wl" "$@" --help >&2 || true
  echo "perf-record.sh: vidmm-bench refused: run $wl $*" >&2
  exit 2
}
events="cpu-clock"
if perf stat -e cycles -- true 2>&1 | grep -q "not supported"; then
  echo "perf-record.sh: no hardware PMU here: sampling cpu-clock (software)" >&2
else
  events="cycles"
fi
perf record -e "$events" -F "$freq" --call-graph "$cg" -o "$out" -- "$bin" run "$wl" "$@"
cat <<EOT

profile: $out
  perf report -i $out --no-children --sort comm,sym          # where time goes, by thread
  perf report -i $out --children --comm vidmm-w0              # one client's inclusive view
  perf script -i $out | less                                  # every sample with its stack
Threads: vidmm-wN (clients), emu-copyN and emu-jobN (engines), vidmm-reclaim,
vidmm-sampler. See docs/perf-analysis.md.
EOT

#!/usr/bin/env bash
# Regenerates every table of README's "Measured figures": builds, then runs
# each benchmark behind a table with README's parameters (3 invocations,
# interleaved) and writes DIR/figures.md (a line naming the machine, then
# the tables README pastes) and DIR/figures.json. Options go to
# scripts/figures.py: --quick (a smoke run), --runs N, --out DIR,
# --only heap,paging,vulkan,micro,swap,scale,pipeline,harness, --build DIR,
# --swap-dir DIR; --from FILE... (pool earlier runs' figures.json: runs and
# builds nothing), --check FILE (this run's ratios against FILE's spreads).
# Run it on an otherwise idle machine: every figure is a time.
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
*" --from "*) ;; # stored figures only: nothing to install or build
*) . scripts/prepare-build.sh "$@" ;;
esac
exec /usr/bin/python3 scripts/figures.py "$@"

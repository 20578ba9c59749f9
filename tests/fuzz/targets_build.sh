#!/bin/sh
# targets_build.sh [TARGET CORPUS DICT]... - FUZZ-TARGETS-BUILD: every
# target exists and runs 10 s from its corpus without a finding.
set -eu
here=$(dirname "$0")
while [ $# -ge 3 ]; do
	VIDMM_FUZZ_SECONDS=10 "$here/run_target.sh" "$1" "$2" "$3" 10
	shift 3
done
echo "FUZZ-TARGETS-BUILD: every target built and ran 10 s"

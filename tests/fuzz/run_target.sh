#!/bin/sh
# run_target.sh TARGET SOURCE-CORPUS DICT|- SECONDS-DEFAULT
# Runs one libFuzzer target for VIDMM_FUZZ_SECONDS (else SECONDS-DEFAULT)
# from its seed corpus. New inputs go to a corpus under the build directory
# (libFuzzer writes into the first directory it is given), never into the
# source tree; a crash leaves its input in the build directory and the exit
# status is libFuzzer's (non-zero on a finding).
set -eu
target=$1 src=$2 dict=$3 secs=${VIDMM_FUZZ_SECONDS:-$4}
name=$(basename "$target")
work=$(dirname "$target")/$name.out
mkdir -p "$work/corpus"
echo "$name: ${secs}s from $src (new inputs: $work/corpus, findings: $work/)"
dictarg=
[ "$dict" = - ] || dictarg=-dict=$dict
exec "$target" -max_total_time="$secs" $dictarg -artifact_prefix="$work/" \
	-print_final_stats=1 -rss_limit_mb=4096 -timeout=30 "$work/corpus" "$src"

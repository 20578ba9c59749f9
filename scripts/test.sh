#!/usr/bin/env bash
# Builds vidmm-bench and runs every test: a normal build with warnings as
# errors, the same tests under ASan+UBSan, and the multi-threaded tests under
# TSan, and the libFuzzer targets when clang is there. The last line is
# "N passed, N failed" over all of them; a stage that cannot run here is
# named on its own "skipped:" line.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

jobs=${VIDMM_JOBS:-$(nproc)}
total_pass=0
total_fail=0

# Multi-threaded suites, run again under TSan.
TSAN_SUITES=(${VIDMM_TSAN_SUITES:-test_emu test_residency test_swap test_swapstore test_shared test_scale
	test_fuzz_threads})

configure() { # dir, extra meson args...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
}

count() { # dir -> sets P F from the meson test log
	local log=$1/meson-logs/testlog.json
	P=0; F=0
	[ -f "$log" ] || return
	P=$(grep -c '"result": "OK"' "$log")
	F=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
}

run_config() { # label dir suites-args -- meson args
	local label=$1 dir=$2; shift 2
	local suites=()
	# a suite named !NAME is left out
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		if [ "${1#!}" != "$1" ]; then suites+=(--no-suite "${1#!}"); else suites+=(--suite "$1"); fi
		shift
	done
	[ "${1:-}" = "--" ] && shift
	echo "== $label ($dir)"
	if ! configure "$dir" "$@" || ! meson compile -C "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
		tail -n 40 "$dir.build.log" 2>/dev/null
		echo "$label: build failed"
		total_fail=$((total_fail + 1))
		return
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --num-processes "$jobs" --print-errorlogs "${suites[@]}" \
		>"$dir.test.log" 2>&1
	grep -E "^ *[0-9]+/[0-9]+ " "$dir.test.log" | grep -Ev " OK +[0-9.]+s" || true
	count "$dir"
	echo "$label: $P passed, $F failed"
	total_pass=$((total_pass + P))
	total_fail=$((total_fail + F))
	if [ "$F" -gt 0 ]; then
		grep -A 30 -E "^=+ [0-9]+/[0-9]+ =+" "$dir.test.log" | head -n 200
	fi
}

# vidmm-bench fuzz runs (tests/test_fuzz.c): short in the release build,
# 60 s single-threaded and 60 s with 4 threads under the sanitizers.
VIDMM_FUZZ_SECONDS=10 run_config "release (warnings as errors)" build --
export VIDMM_FUZZ_SECONDS=60
# UBSan only prints and goes on unless told to stop: make every report fail.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
# The Vulkan driver's whole-harness cases and the driver variants of the
# residency and swap cases run in the release build only: lavapipe under ASan
# is 5-7x slower, and CI must stay under 30 minutes on 2 cores.
run_config "ASan+UBSan" build-asan '!test_vulkan_cli' '!test_residency_vulkan' '!test_swap_vulkan' \
	-- -Db_sanitize=address,undefined -Db_lundef=false \
	-Dgbench=disabled
# TSan: only suites that exist in this tree.
tsan=()
for s in "${TSAN_SUITES[@]}"; do
	grep -q "'$s'" tests/meson.build && tsan+=("$s")
done
if [ ${#tsan[@]} -gt 0 ]; then
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	run_config "TSan" build-tsan "${tsan[@]}" -- -Db_sanitize=thread -Db_lundef=false -Dgbench=disabled
fi

# libFuzzer targets (tests/fuzz): 10 s each from the corpus, then 60 s each.
if command -v clang >/dev/null 2>&1 && echo 'int main(void){return 0;}' |
	clang -x c -fsanitize=fuzzer-no-link -o /dev/null - >/dev/null 2>&1; then
	CC=clang run_config "libFuzzer targets" build-fuzz fuzz_targets -- -Dfuzz=enabled \
		-Db_sanitize=address,undefined -Db_lundef=false -Dgbench=disabled
else
	echo "skipped: libFuzzer targets (no clang with libFuzzer: apt-get install clang libclang-rt-14-dev)"
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

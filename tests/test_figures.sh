#!/bin/sh
# test_figures.sh SOURCE_ROOT BUILD_ROOT - FIGURES-SUITE-RUNS: the figures
# command (scripts/figures.sh) runs every program behind README's tables on
# its smallest settings and writes every table and the machine line; bad
# options are refused with exit 2 and nothing written. The figures of a
# smoke run on a loaded CI machine mean nothing: only their presence is
# checked. Then --from (pooling stored runs) and --check (a run's ratios
# against another's spreads) on the smoke run's own figures.json, and bad
# files refused. Then the eviction lab (scripts/lab.sh --quick): its table
# and charts.
set -u
src=$1
build=$2
tmp=$(mktemp -d /tmp/vidmm-figures.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$src" || fail "no source tree $src"
export VIDMM_FIGURES_NO_SETUP=1

# bad input: exit 2, a message naming the option, nothing written
for bad in "--runs 0" "--only nope" "--swap-dir /nonexistent/dir"; do
	out=$(./scripts/figures.sh --build "$build" --out "$tmp/bad" $bad 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] || fail "figures.sh $bad: exit $rc, not 2: $out"
	opt=${bad%% *}
	echo "$out" | grep -q -- "$opt" || fail "figures.sh $bad: the message does not name $opt: $out"
	[ ! -e "$tmp/bad" ] || fail "figures.sh $bad: wrote $tmp/bad"
done

# the Vulkan section's paging_bench under the validation layer: its raw
# reference's commands are checked too (a message fails the program)
out=$(VIDMM_VK_VALIDATION=1 ./scripts/figures.sh --quick --build "$build" --out "$tmp/q" 2>&1)
rc=$?
echo "$out" | tail -n 20
[ "$rc" -eq 0 ] || fail "figures.sh --quick: exit $rc"
md=$tmp/q/figures.md
[ -f "$md" ] && [ -f "$tmp/q/figures.json" ] || fail "figures.md or figures.json missing"
grep -q "^Machine: .* CPUs, .* GiB, Linux .*, disk .*; build .*; 20[0-9][0-9]-" "$md" ||
	fail "no machine line in figures.md"
for t in "Heap" "Residency" "Residency on the Vulkan driver" "Submit, fences and the GART" "Swap" "Scaling with clients" "Pipelined paging" "The harness"; do
	grep -q "^#### $t: " "$md" || fail "no '$t' table in figures.md"
done
# the Vulkan table: its three sizes on the device, or one line saying why not
vk=$(sed -n '/^#### Residency on the Vulkan driver: /,/^#### /p' "$md")
if echo "$vk" | grep -q "^Skipped: "; then
	echo "FIGURES-SUITE-RUNS: the Vulkan table was skipped: $(echo "$vk" | grep '^Skipped: ')"
else
	echo "$vk" | grep -q "^Device: " || fail "the Vulkan table names no device"
	[ "$(echo "$vk" | grep -c '^| [0-9]* [KM]iB | [0-9]')" -eq 3 ] || fail "the Vulkan table lacks a size: $vk"
fi
# setup.sh installs fio: the swap table compares with it
if command -v fio >/dev/null 2>&1; then
	grep -q "| fio write |" "$md" || fail "fio is installed but the swap table has no fio column"
	grep -A4 "| fio write |" "$md" | grep "^| 64 KiB" | grep -q "| – |" &&
		fail "the swap table has no fio figure at 64 KiB"
fi
# every table has its rows: heap 3, paging 6, micro 7 submit + 1 wake + 4
# GART, swap 2, scale 8 + 2 + 2 headers, pipeline 6 + 1 header, harness 6
rows=$(grep -c '^| [^-]' "$md")
[ "$rows" -ge $((3 + 6 + 12 + 2 + 12 + 7 + 5 + 6)) ] || fail "$rows table lines in figures.md: rows are missing"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert set(d['values']) == {'heap','paging','vulkan','micro','swap','scale','pipeline','harness'}, d['values'].keys()" \
	"$tmp/q/figures.json" || fail "figures.json lacks a section"
# the harness row of re-measured runs comes from the suite's results file:
# a count, not "unknown"
/usr/bin/python3 -c "import json,sys; h=json.load(open(sys.argv[1]))['values']['harness']; assert h and all(isinstance(r.get('suite remeasured'), int) for r in h), h" \
	"$tmp/q/figures.json" || fail "figures.json has no count of the suite's re-measured runs"
echo "FIGURES-SUITE-RUNS: every table written ($rows table lines)"

# --from pools stored runs and --check compares them: nothing runs. Q2 is
# the smoke run under another date (a second run of the same code).
q=$tmp/q/figures.json
edit() { # edit IN OUT PYTHON: d is the document
	/usr/bin/python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
$3
json.dump(d, open(sys.argv[2], 'w'))
" "$1" "$2" || fail "could not write $2"
}
edit "$q" "$tmp/q2.json" "d['machine']['date'] = '2000-01-01 00:00 UTC'"
out=$(./scripts/figures.sh --build "$build" --from "$q" "$tmp/q2.json" --check "$q" --out "$tmp/pool" 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "--from Q Q2 --check Q: exit $rc, not 0: $out"
grep -q "over [0-9][0-9]* invocation(s) in 2 runs" "$tmp/pool/figures.md" || fail "the pooled tables do not say they span 2 runs"
/usr/bin/python3 -c "
import json, sys
q, p = (json.load(open(f)) for f in sys.argv[1:3])
for s, runs in q['values'].items():
    assert len(p['values'][s]) == 2 * len(runs), (s, len(p['values'][s]))
" "$q" "$tmp/pool/figures.json" || fail "the pooled figures.json does not hold both runs' invocations"
n=$(sed -n 's/.*\*\*\([0-9]*\) of \([0-9]*\)\*\* ratio medians inside.*/\1 \2/p' "$tmp/pool/check.md")
set -- $n
[ -n "$n" ] && [ "$2" -gt 10 ] && [ "$1" -eq "$2" ] || fail "a run checked against itself: '$n' inside"
grep -q "expected if the runs were exchangeable" "$tmp/pool/check.md" || fail "check.md gives no drift-free expectation"
grep -q -- "\(; \|between \|and \)-[0-9]" "$tmp/pool/check.md" && fail "a negative expectation in check.md"
# one ratio moved far above its spread, another far below: exit 3, both named
edit "$q" "$tmp/moved.json" "
d['machine']['date'] = '2000-01-02 00:00 UTC'
for r in d['values']['pipeline']:
    r['oversubscribe ratio'] = 10 * r['oversubscribe ratio'] + 1
for r in d['values']['harness']:
    r['overhead ratio'] = -1.0"
out=$(./scripts/figures.sh --build "$build" --from "$tmp/moved.json" --check "$q" --out "$tmp/moved" 2>&1)
rc=$?
[ "$rc" -eq 3 ] || fail "two ratios far outside their spreads: exit $rc, not 3: $out"
grep -q "| pipeline | oversubscribe ratio | .* | \*\*above\*\* by .*far outside" "$tmp/moved/check.md" ||
	fail "check.md does not name the ratio above its spread"
grep -q "| harness | overhead ratio | .* | \*\*below\*\* by .*far outside" "$tmp/moved/check.md" ||
	fail "check.md does not name the ratio below its spread"
# bad input: exit 2, a message naming what is wrong, nothing written
printf 'not json' >"$tmp/bad.json"
edit "$q" "$tmp/other.json" "d['machine']['cpus'] = 4096; d['machine']['date'] = 'x'"
edit "$q" "$tmp/full.json" "d['quick'] = False"
for bad in "--from $tmp/bad.json" "--from $q $tmp/other.json" "--from $q $q" \
	"--from $q --check $tmp/none.json" "--from $q --check $tmp/full.json" "--from $q --quick" \
	"--from $q --only micro --check $q"; do
	out=$(./scripts/figures.sh --build "$build" --out "$tmp/bad" $bad 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] || fail "figures.sh $bad: exit $rc, not 2: $out"
	case $bad in
	*bad.json) echo "$out" | grep -q "bad.json: not a figures.json" ;;
	*other.json) echo "$out" | grep -q "other.json: machine 'cpus'" ;;
	*"$q $q") echo "$out" | grep -q "the same run as" ;;
	*none.json) echo "$out" | grep -q "none.json: No such file" ;;
	*full.json) echo "$out" | grep -q "a --quick run and a full run do not compare" ;;
	*micro*) echo "$out" | grep -q "no ratio of it is in this run" ;;
	*) echo "$out" | grep -q -- "--from" ;;
	esac || fail "figures.sh $bad: the message does not name what is wrong: $out"
	[ ! -e "$tmp/bad" ] || fail "figures.sh $bad: wrote $tmp/bad"
done
echo "FIGURES-SUITE-RUNS: --from pools runs, --check finds a ratio out of its spread"

# the eviction lab's table (scripts/lab.sh): deterministic byte counts, so
# the smoke run checks the table's shape and the lower bound under belady
out=$(./scripts/lab.sh --quick --build "$build" --out "$tmp/lab" 2>&1)
rc=$?
echo "$out" | tail -n 3
[ "$rc" -eq 0 ] || fail "lab.sh --quick: exit $rc: $out"
lab=$tmp/lab/lab.md
grep -q "^| trace | peak / capacity | lower bound (FOO-L) | lru |" "$lab" || fail "lab.md has no table"
[ "$(grep -c '^| PyTorch step' "$lab")" -eq 4 ] || fail "lab.md: the PyTorch step needs 4 capacities"
[ "$(ls "$tmp/lab"/*.svg | wc -l)" -eq 3 ] || fail "lab.sh drew $(ls "$tmp/lab"/*.svg | wc -l) charts, not 3"
echo "FIGURES-SUITE-RUNS: the eviction-lab table and charts written"

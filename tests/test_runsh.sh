#!/bin/sh
# test_runsh.sh SOURCE_ROOT - RUNSH-SHOWS-BUILD-ERRORS: scripts/run.sh on a
# copy of the tree with a syntax error must fail and show the compiler's
# message, not exit 1 in silence.
set -u
src=$1
tmp=$(mktemp -d /tmp/vidmm-runsh.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# the files git knows or would add (not the build directories)
(cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar cf -) | (cd "$tmp" && tar xf -)
mkdir -p "$tmp/.git" # meson's git_rev lookup is optional
printf 'int this is not C;\n' >> "$tmp/core/errors.c"
out=$("$tmp/scripts/run.sh" 2>&1)
rc=$?
echo "$out" | tail -n 25
if [ "$rc" -eq 0 ]; then
	echo "FAIL: run.sh succeeded on a tree that does not compile"
	exit 1
fi
if ! echo "$out" | grep -q "errors.c.*error"; then
	echo "FAIL: run.sh did not show the compiler's error about core/errors.c"
	exit 1
fi
if ! echo "$out" | grep -q "the build failed"; then
	echo "FAIL: run.sh did not say the build failed"
	exit 1
fi
echo "RUNSH-SHOWS-BUILD-ERRORS: run.sh exited $rc and showed the compiler's error"

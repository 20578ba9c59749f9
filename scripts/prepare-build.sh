# prepare-build.sh - sourced by figures.sh and lab.sh: unless
# VIDMM_FIGURES_NO_SETUP is set, installs what is missing and builds the
# build directory named by --build (default build) in the script's arguments.
build=build
for ((i = 1; i <= $#; i++)); do
	[ "${!i}" = "--build" ] && { j=$((i + 1)); build=${!j:-build}; }
done
if [ -z "${VIDMM_FIGURES_NO_SETUP:-}" ]; then
	./scripts/setup.sh
	[ -f "$build/build.ninja" ] || meson setup "$build"
	meson compile -C "$build" >/dev/null || { meson compile -C "$build"; exit 1; }
fi

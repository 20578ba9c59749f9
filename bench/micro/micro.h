/* SPDX-License-Identifier: MIT */
/*
 * micro.h - the list of vidmm-micro's benchmark files.
 *
 * Owns: the one list of bench/micro/micro_<x>.c files. Adding a file is one line
 * here, X(<x>), in MICRO_BENCHES: micro_main.c calls every
 * micro_<x>_register() in this order, and bench/meson.build reads this list
 * to compile bench/micro/micro_<x>.c into vidmm-micro (keep one X(...) per line).
 * Must not: hold anything but the list and the registration prototype.
 *
 * micro_<x>_register() runs after gb_initialize() and before
 * gb_run_specified(): it registers benchmarks with gb_register() and may add
 * context entries (gb_add_context) such as its profile, driver or io_uring
 * flags.
 */
#ifndef VIDMM_MICRO_H
#define VIDMM_MICRO_H

#define MICRO_BENCHES(X) \
	X(shim) \
	X(heap) \
	X(gart) \
	X(mmu) \
	X(residency) \
	X(fence) \
	X(swap) \
	X(probe) \
	/* end of list */

#define MICRO_DECLARE(x) void micro_##x##_register(void);
MICRO_BENCHES(MICRO_DECLARE)
#undef MICRO_DECLARE

#endif

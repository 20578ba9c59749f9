/* SPDX-License-Identifier: MIT */
/*
 * units.h - numbers as a person reads them on the console: durations in
 * ns/µs/ms/s, sizes in B/KiB/MiB/GiB, counts with thousands separators. The
 * Python reports (reports/vidmm_reports/units.py) write them the same way.
 *
 * Owns: formatting. Must not: round a value that goes into results JSON
 * (files keep raw numbers).
 */
#ifndef VIDMM_BENCH_UNITS_H
#define VIDMM_BENCH_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Each writes into buf (at least UNITS_BUF bytes) and returns buf. */
#define UNITS_BUF 32
/* 850 ns, 1.23 µs, 45.6 ms, 2.5 s (three significant digits). */
char *units_ns(char *buf, double ns);
/* seconds, the same way */
char *units_s(char *buf, double s);
/* 512 B, 4 KiB, 1.5 GiB */
char *units_bytes(char *buf, double bytes);
/* 12,345 (rounded); below 100 and not whole: three significant digits */
char *units_count(char *buf, double v);

#endif

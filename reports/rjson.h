/* SPDX-License-Identifier: MIT */
/*
 * rjson.h - small readers and formatters for results JSON, shared by the
 * Markdown summary (bench/results.c), `report` and `compare`.
 *
 * Owns: lenient field access (a missing or mistyped field reads as 0 or "",
 * because readers ignore what they do not know, ARCHITECTURE.md section 9)
 * and the one way durations are printed. Must not: validate documents.
 */
#ifndef VIDMM_RJSON_H
#define VIDMM_RJSON_H

#include <stddef.h>

#include <jansson.h>

/* o[k] as a number, 0 if missing or not a number. */
double rj_num(const json_t *o, const char *k);
/* o[k] as a string, "" if missing or not a string. */
const char *rj_str(const json_t *o, const char *k);
/* A duration in ns as "812 ns", "3.4 us", "1.25 ms", "2.00 s"; "-" for <= 0. */
void rj_fmt_ns(char *buf, size_t len, double ns);

#endif

/* SPDX-License-Identifier: MIT */
/* units.c - see units.h. */
#include "units.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* v with three significant digits, no exponent, no trailing zeros. */
static void sig3(char *buf, double v, const char *unit)
{
	int decimals = 0;

	if (v != 0 && isfinite(v)) {
		int mag = (int)floor(log10(fabs(v)));
		decimals = 2 - mag;
		if (decimals < 0)
			decimals = 0;
	}
	snprintf(buf, UNITS_BUF, "%.*f", decimals, v);
	if (strchr(buf, '.')) {
		size_t n = strlen(buf);
		while (n && buf[n - 1] == '0')
			buf[--n] = 0;
		if (n && buf[n - 1] == '.')
			buf[--n] = 0;
	}
	size_t n = strlen(buf);
	snprintf(buf + n, UNITS_BUF - n, "%s%s", *unit ? " " : "", unit);
}

char *units_ns(char *buf, double ns)
{
	static const struct { double scale; const char *unit; } u[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "µs" }, { 1, "ns" },
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (fabs(ns) >= u[i].scale || u[i].scale == 1) {
			sig3(buf, ns / u[i].scale, u[i].unit);
			return buf;
		}
	return buf;
}

char *units_s(char *buf, double s)
{
	return units_ns(buf, s * 1e9);
}

char *units_bytes(char *buf, double b)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (i < 4 && fabs(b) >= 1024.0) {
		b /= 1024.0;
		i++;
	}
	sig3(buf, b, u[i]);
	return buf;
}

char *units_count(char *buf, double v)
{
	if (fabs(v) < 100 && v != floor(v)) {
		sig3(buf, v, "");
		return buf;
	}
	char tmp[UNITS_BUF];
	long long n = llround(v);
	int len = snprintf(tmp, sizeof(tmp), "%lld", n < 0 ? -n : n);
	char *o = buf;
	if (n < 0)
		*o++ = '-';
	for (int i = 0; i < len; i++) {
		*o++ = tmp[i];
		if ((len - i - 1) % 3 == 0 && i != len - 1)
			*o++ = ',';
	}
	*o = 0;
	return buf;
}

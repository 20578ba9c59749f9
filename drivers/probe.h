/* SPDX-License-Identifier: MIT */
/*
 * probe.h - lists the display-class PCI devices of this machine (libpci) and
 * where they sit in the CPU/NUMA topology (hwloc).
 *
 * Owns: read-only discovery for the runner's "what hardware is this" report.
 * Must not: touch device state (no config-space writes, no driver binding,
 * no BAR mapping), exit or abort the process on a libpci error, or depend on
 * core/ or drivers/. Either library may be absent at build time
 * (HAVE_LIBPCI / HAVE_HWLOC from bench/meson.build); the module then still
 * builds and reports the library as unavailable.
 */
#ifndef VIDMM_PROBE_H
#define VIDMM_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROBE_MAX_BARS 6

/* One base address register with a non-zero size. */
struct probe_bar {
	unsigned index;          /* BAR number 0..5 */
	uint64_t base;           /* bus address, flag bits masked off */
	uint64_t size;           /* bytes */
	bool io;                 /* I/O space rather than memory */
	bool prefetchable;       /* memory BAR marked prefetchable */
	bool is64;               /* 64-bit memory BAR (uses the next BAR slot too) */
};

/* One display-class (0x03xx) PCI function. */
struct probe_dev {
	uint16_t domain;
	uint8_t bus, dev, func;
	uint16_t vendor_id, device_id;
	uint16_t class_id;       /* base class << 8 | subclass, e.g. 0x0302 */
	char vendor_name[96];    /* pci.ids name, or "Device xxxx" numbers */
	char device_name[128];
	char class_name[64];     /* e.g. "VGA compatible controller" */
	unsigned nbars;
	struct probe_bar bars[PROBE_MAX_BARS];
	int numa_node;           /* OS index of the NUMA node, -1 unknown/many */
	char near_cpus[128];     /* OS indexes of the PUs near the device, "0-15" */
	unsigned near_cores;     /* cores in that set, 0 when unknown */
	bool topo_known;         /* hwloc placed the device in the topology */
};

/*
 * Fill out[0 .. min(*n, max) - 1] with the display-class PCI functions, in
 * libpci scan order. *n receives the total number found (may exceed max;
 * out may be NULL when max is 0, to count). Placement fields come from hwloc
 * when available, else numa_node from sysfs via libpci and topo_known false.
 * Returns 0 (also when none were found), -ENOSYS when built without libpci,
 * -EACCES when libpci could not read the bus (/sys or /proc unavailable; the
 * reason is in probe_last_error()), -EINVAL for a NULL n.
 */
int probe_list(struct probe_dev *out, size_t max, size_t *n);

/*
 * Write a human-readable report (json false) or one JSON object (json true)
 * on out: each display-class device with address, names, BARs and nearby
 * NUMA node/cores; "no display-class PCI devices found (class 0x03xx)" when
 * there are none; a plain sentence when libpci/hwloc are unavailable or the
 * bus cannot be read. Those situations are findings, not failures: returns 0
 * for them, a negative errno only for an unusable argument (-EINVAL) or a
 * failed write (-EIO).
 *
 * JSON shape: {"libpci":bool,"hwloc":bool,"status":"ok|none|no-libpci|
 * no-access","message":str,"devices":[{"address":"0000:01:00.0",
 * "vendor_id":"10de","device_id":"2330","class_id":"0302","vendor":str,
 * "device":str,"class":str,"bars":[{"index":0,"size":N,"io":bool,
 * "prefetchable":bool,"is64":bool}],"numa_node":N|null,"near_cpus":str,
 * "near_cores":N}]}
 */
int probe_run(FILE *out, bool json);

/* Last libpci error message of this thread ("" if none); for diagnostics. */
const char *probe_last_error(void);

/*
 * Make libpci scan path instead of /sys/bus/pci (its "sysfs.path"), with the
 * sysfs access method only: for a copied sysfs tree, or a missing one in
 * tests. NULL restores automatic access-method detection. hwloc still reads
 * the live system. The string is copied. Not thread-safe against a
 * concurrent probe.
 */
void probe_set_sysfs_root(const char *path);

/* Format a byte count as "256 MiB" / "16 GiB" / "4 KiB" (exact units only
 * when they divide; otherwise one decimal). Returns buf. */
char *probe_fmt_size(uint64_t bytes, char *buf, size_t len);

#endif

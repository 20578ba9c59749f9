/* SPDX-License-Identifier: MIT */
/*
 * probe.c - display-class PCI discovery (libpci) with NUMA placement (hwloc).
 *
 * Owns: the libpci scan, its error trapping, the hwloc lookup of each device,
 * and the text/JSON report. Must not: write PCI config space, map BARs, exit
 * the process, or print anything except on the FILE it is handed.
 *
 * libpci reports fatal errors through acc->error, whose default handler
 * prints and calls exit(1); a benchmark harness must survive a machine
 * without /sys, so the handler here records the message and longjmps back to
 * probe_scan, which then frees what libpci allocated and returns -EACCES.
 */
#include "probe.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef HAVE_LIBPCI
#define HAVE_LIBPCI 0
#endif
#ifndef HAVE_HWLOC
#define HAVE_HWLOC 0
#endif

#if HAVE_LIBPCI
#include <pci/pci.h>
#endif
#if HAVE_HWLOC
#include <hwloc.h>
#endif

#define NONE_MSG "no display-class PCI devices found (class 0x03xx)"

static _Thread_local char last_err[256];
static char *sysfs_root;

const char *probe_last_error(void)
{
	return last_err;
}

void probe_set_sysfs_root(const char *path)
{
	free(sysfs_root);
	sysfs_root = path ? strdup(path) : NULL;
}

char *probe_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	uint64_t v = bytes;

	/* Exact units first: BAR sizes are powers of two, so this is the norm. */
	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (v < 1024 || u + 1 == sizeof(unit) / sizeof(unit[0])) {
		snprintf(buf, len, "%" PRIu64 " %s", v, unit[u]);
		return buf;
	}
	double d = (double)v;
	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && d >= 1024.0) {
		d /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

#if HAVE_HWLOC && HAVE_LIBPCI
/* One topology per scan, with every PCI device kept (the default filter
 * drops I/O objects, and hwloc_get_pcidev_by_busid would find nothing). */
static hwloc_topology_t topo_open(void)
{
	hwloc_topology_t t;

	if (hwloc_topology_init(&t) < 0)
		return NULL;
	if (hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL) < 0 ||
	    hwloc_topology_load(t) < 0) {
		hwloc_topology_destroy(t);
		return NULL;
	}
	return t;
}

static void topo_place(hwloc_topology_t t, struct probe_dev *p)
{
	hwloc_obj_t o = hwloc_get_pcidev_by_busid(t, p->domain, p->bus, p->dev, p->func);
	if (!o)
		return;
	/* PCI objects have no cpuset; the first normal ancestor (package,
	 * group, machine) is where the device is attached. */
	hwloc_obj_t a = hwloc_get_non_io_ancestor_obj(t, o);
	if (!a || !a->cpuset)
		return;
	p->topo_known = true;
	hwloc_bitmap_list_snprintf(p->near_cpus, sizeof(p->near_cpus), a->cpuset);
	int nc = hwloc_get_nbobjs_inside_cpuset_by_type(t, a->cpuset, HWLOC_OBJ_CORE);
	p->near_cores = nc > 0 ? (unsigned)nc : 0;
	/* Nodesets are indexed by OS index. An ancestor spanning several nodes
	 * (device attached at machine level) says nothing; keep libpci's. */
	if (a->nodeset && hwloc_bitmap_weight(a->nodeset) == 1)
		p->numa_node = hwloc_bitmap_first(a->nodeset);
}
#endif

#if HAVE_LIBPCI
static _Thread_local jmp_buf *pci_jmp;

__attribute__((noreturn, format(printf, 1, 2)))
static void pci_error_trap(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(last_err, sizeof(last_err), msg, ap);
	va_end(ap);
	longjmp(*pci_jmp, 1);
}

/* Warnings (e.g. an unreadable optional attribute) are not fatal; keep the
 * message for diagnostics and stay silent on stderr. */
__attribute__((format(printf, 1, 2)))
static void pci_warning_quiet(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(last_err, sizeof(last_err), msg, ap);
	va_end(ap);
}

static void copy_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "?");
}

static void fill_dev(struct pci_access *acc, struct pci_dev *d, struct probe_dev *p)
{
	char nb[256];

	memset(p, 0, sizeof(*p));
	p->domain = (uint16_t)d->domain;
	p->bus = d->bus;
	p->dev = d->dev;
	p->func = d->func;
	p->vendor_id = d->vendor_id;
	p->device_id = d->device_id;
	p->class_id = d->device_class;
	copy_name(p->vendor_name, sizeof(p->vendor_name),
		  pci_lookup_name(acc, nb, sizeof(nb), PCI_LOOKUP_VENDOR, d->vendor_id));
	copy_name(p->device_name, sizeof(p->device_name),
		  pci_lookup_name(acc, nb, sizeof(nb), PCI_LOOKUP_DEVICE,
				  d->vendor_id, d->device_id));
	copy_name(p->class_name, sizeof(p->class_name),
		  pci_lookup_name(acc, nb, sizeof(nb), PCI_LOOKUP_CLASS, d->device_class));
	for (unsigned i = 0; i < PROBE_MAX_BARS; i++) {
		pciaddr_t b = d->base_addr[i];
		/* The upper half of a 64-bit BAR has size 0 and is skipped here. */
		if (!d->size[i])
			continue;
		struct probe_bar *r = &p->bars[p->nbars++];
		r->index = i;
		r->size = d->size[i];
		r->io = (b & PCI_BASE_ADDRESS_SPACE) == PCI_BASE_ADDRESS_SPACE_IO;
		if (r->io) {
			r->base = b & PCI_ADDR_IO_MASK;
		} else {
			r->base = b & PCI_ADDR_MEM_MASK;
			r->prefetchable = b & PCI_BASE_ADDRESS_MEM_PREFETCH;
			r->is64 = (b & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
				  PCI_BASE_ADDRESS_MEM_TYPE_64;
		}
	}
	/* PCI_FILL_NUMA_NODE leaves -1 where the kernel does not know. */
	p->numa_node = d->numa_node;
}

/* The work between setjmp and longjmp, kept out of probe_scan so that no
 * local of that frame is modified after setjmp (-Wclobbered). */
static void scan_bus(struct pci_access *acc, struct probe_dev *out, size_t max,
		     size_t *n, size_t *total)
{
	if (sysfs_root) {
		acc->method = PCI_ACCESS_SYS_BUS_PCI;
		pci_set_param(acc, "sysfs.path", sysfs_root);
	}
	pci_init(acc);
	pci_scan_bus(acc);
	for (struct pci_dev *d = acc->devices; d; d = d->next) {
		pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_BASES |
				 PCI_FILL_SIZES | PCI_FILL_NUMA_NODE);
		(*total)++;
		if ((d->device_class >> 8) != 0x03)
			continue;
		if (*n < max)
			fill_dev(acc, d, &out[*n]);
		(*n)++;
	}
}

static int probe_scan(struct probe_dev *out, size_t max, size_t *n, size_t *total)
{
	struct pci_access *acc;
	jmp_buf jb;

	*n = 0;
	*total = 0;
	last_err[0] = '\0';
	acc = pci_alloc();
	if (!acc)
		return -ENOMEM;
	acc->error = pci_error_trap;
	acc->warning = pci_warning_quiet;
	pci_jmp = &jb;
	if (setjmp(jb)) {
		pci_jmp = NULL;
		pci_cleanup(acc);
		return -EACCES;
	}
	scan_bus(acc, out, max, n, total);
	pci_jmp = NULL;
	pci_cleanup(acc);

#if HAVE_HWLOC
	size_t filled = *n < max ? *n : max;
	if (filled) {
		hwloc_topology_t t = topo_open();
		if (t) {
			for (size_t i = 0; i < filled; i++)
				topo_place(t, &out[i]);
			hwloc_topology_destroy(t);
		}
	}
#endif
	return 0;
}
#else
static int probe_scan(struct probe_dev *out, size_t max, size_t *n, size_t *total)
{
	(void)out;
	(void)max;
	*n = 0;
	*total = 0;
	snprintf(last_err, sizeof(last_err), "built without libpci");
	return -ENOSYS;
}
#endif

int probe_list(struct probe_dev *out, size_t max, size_t *n)
{
	size_t total;

	if (!n || (max && !out))
		return -EINVAL;
	return probe_scan(out, max, n, &total);
}

/* ---- report ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static void print_text(FILE *f, const struct probe_dev *d, size_t n, size_t total)
{
	char sz[32];

	fprintf(f, "display-class PCI devices: %zu of %zu PCI functions\n", n, total);
	for (size_t i = 0; i < n; i++) {
		const struct probe_dev *p = &d[i];
		fprintf(f, "%04x:%02x:%02x.%x %s [%04x]: %s %s [%04x:%04x]\n",
			p->domain, p->bus, p->dev, p->func, p->class_name, p->class_id,
			p->vendor_name, p->device_name, p->vendor_id, p->device_id);
		if (!p->nbars)
			fprintf(f, "    no sized BARs reported\n");
		for (unsigned b = 0; b < p->nbars; b++) {
			const struct probe_bar *r = &p->bars[b];
			probe_fmt_size(r->size, sz, sizeof(sz));
			if (r->io)
				fprintf(f, "    BAR%u: %s, I/O ports at 0x%" PRIx64 "\n",
					r->index, sz, r->base);
			else
				fprintf(f, "    BAR%u: %s, %s, %s, at 0x%" PRIx64 "\n",
					r->index, sz, r->is64 ? "64-bit" : "32-bit",
					r->prefetchable ? "prefetchable" : "non-prefetchable",
					r->base);
		}
		if (p->numa_node >= 0)
			fprintf(f, "    NUMA node %d", p->numa_node);
		else
			fprintf(f, "    NUMA node unknown");
		if (p->topo_known)
			fprintf(f, "; near %u core%s (PUs %s)\n", p->near_cores,
				p->near_cores == 1 ? "" : "s", p->near_cpus);
		else
			fprintf(f, "; nearby cores unknown (%s)\n",
				HAVE_HWLOC ? "not in the hwloc topology" : "built without hwloc");
	}
}

static void print_json(FILE *f, const struct probe_dev *d, size_t n)
{
	char buf[64];

	fprintf(f, "{\"libpci\":%s,\"hwloc\":%s,\"status\":\"%s\",\"message\":",
		HAVE_LIBPCI ? "true" : "false", HAVE_HWLOC ? "true" : "false",
		n ? "ok" : "none");
	json_str(f, n ? "" : NONE_MSG);
	fprintf(f, ",\"devices\":[");
	for (size_t i = 0; i < n; i++) {
		const struct probe_dev *p = &d[i];
		snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", p->domain, p->bus, p->dev, p->func);
		fprintf(f, "%s{\"address\":\"%s\",\"vendor_id\":\"%04x\",\"device_id\":\"%04x\","
			"\"class_id\":\"%04x\",\"vendor\":", i ? "," : "", buf,
			p->vendor_id, p->device_id, p->class_id);
		json_str(f, p->vendor_name);
		fprintf(f, ",\"device\":");
		json_str(f, p->device_name);
		fprintf(f, ",\"class\":");
		json_str(f, p->class_name);
		fprintf(f, ",\"bars\":[");
		for (unsigned b = 0; b < p->nbars; b++) {
			const struct probe_bar *r = &p->bars[b];
			fprintf(f, "%s{\"index\":%u,\"base\":\"0x%" PRIx64 "\",\"size\":%" PRIu64
				",\"io\":%s,\"prefetchable\":%s,\"is64\":%s}", b ? "," : "",
				r->index, r->base, r->size, r->io ? "true" : "false",
				r->prefetchable ? "true" : "false", r->is64 ? "true" : "false");
		}
		fprintf(f, "],\"numa_node\":");
		if (p->numa_node >= 0)
			fprintf(f, "%d", p->numa_node);
		else
			fprintf(f, "null");
		fprintf(f, ",\"near_cpus\":");
		json_str(f, p->near_cpus);
		fprintf(f, ",\"near_cores\":%u}", p->near_cores);
	}
	fprintf(f, "]}\n");
}

static void print_problem(FILE *f, bool json, const char *status, const char *msg)
{
	if (json) {
		fprintf(f, "{\"libpci\":%s,\"hwloc\":%s,\"status\":\"%s\",\"message\":",
			HAVE_LIBPCI ? "true" : "false", HAVE_HWLOC ? "true" : "false", status);
		json_str(f, msg);
		fprintf(f, ",\"devices\":[]}\n");
	} else {
		fprintf(f, "%s\n", msg);
	}
}

int probe_run(FILE *out, bool json)
{
	struct probe_dev *d = NULL;
	size_t n = 0, total = 0, cap = 0;
	int rc;

	if (!out)
		return -EINVAL;
	/* Count first, then fill: a machine may carry more GPUs than any fixed
	 * array would guess. Loop in case a device appears between the scans. */
	for (;;) {
		rc = probe_scan(d, cap, &n, &total);
		if (rc < 0 || n <= cap)
			break;
		free(d);
		cap = n;
		d = calloc(cap, sizeof(*d));
		if (!d)
			return -ENOMEM;
	}

	if (rc == -ENOSYS) {
		print_problem(out, json, "no-libpci",
			      "libpci unavailable (built without it): cannot list PCI devices");
	} else if (rc == -EACCES) {
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "cannot access PCI bus information (/sys/bus/pci or /proc/bus/pci): %s",
			 last_err[0] ? last_err : "unknown libpci error");
		print_problem(out, json, "no-access", msg);
	} else if (rc < 0) {
		free(d);
		return rc;
	} else if (json) {
		print_json(out, d, n);
	} else if (!n) {
		fprintf(out, "%s (%zu PCI functions scanned)\n", NONE_MSG, total);
	} else {
		print_text(out, d, n, total);
	}
	if (!json && !HAVE_HWLOC && rc == 0)
		fprintf(out, "hwloc unavailable (built without it): NUMA placement not reported\n");
	free(d);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

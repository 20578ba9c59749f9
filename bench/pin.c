/* SPDX-License-Identifier: MIT */
/*
 * pin.c - worker-thread placement over the allowed cores (hwloc), with a
 * sched_setaffinity fallback when built without hwloc.
 *
 * Owns: the pin_ctx topology and the bind calls for the calling thread.
 * Must not: bind memory, bind other threads, or restore bindings behind the
 * caller's back. See pin.h for the placement policy.
 */
#include "pin.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HAVE_HWLOC
#define HAVE_HWLOC 0
#endif

#if HAVE_HWLOC
#include <hwloc.h>

/* The objects placement cycles over: cores, or PUs where the topology has
 * no core level (some virtual machines and architectures). */
static hwloc_obj_type_t unit_type(const struct pin_ctx *c)
{
	return c->cores_are_pus ? HWLOC_OBJ_PU : HWLOC_OBJ_CORE;
}
#endif

static const char *plural(unsigned n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int pin_init(struct pin_ctx *c)
{
	if (!c)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
#if HAVE_HWLOC
	hwloc_topology_t t;
	errno = 0;   /* hwloc does not always set errno on failure */
	if (hwloc_topology_init(&t) < 0)
		return errno ? -errno : -ENOMEM;
	/* Default filters: no I/O objects, only allowed CPUs. Loading I/O
	 * would cost time and nothing here needs it. */
	if (hwloc_topology_load(t) < 0) {
		int e = errno ? errno : EIO;
		hwloc_topology_destroy(t);
		return -e;
	}
	int nc = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
	int np = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
	if (np <= 0) {
		hwloc_topology_destroy(t);
		return -ENODEV;
	}
	c->topo = t;
	c->hwloc = true;
	c->cores_are_pus = nc <= 0;
	c->ncores = nc > 0 ? (unsigned)nc : (unsigned)np;
	c->npus = (unsigned)np;
	return 0;
#else
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	int n = CPU_COUNT(&set);
	if (n <= 0)
		return -ENODEV;
	c->cpus = calloc((size_t)n, sizeof(*c->cpus));
	if (!c->cpus)
		return -ENOMEM;
	for (int cpu = 0, k = 0; cpu < CPU_SETSIZE && k < n; cpu++)
		if (CPU_ISSET(cpu, &set))
			c->cpus[k++] = cpu;
	c->ncores = c->npus = (unsigned)n;
	c->cores_are_pus = true;
	return 0;
#endif
}

unsigned pin_ncores(const struct pin_ctx *c)
{
	return c ? c->ncores : 0;
}

int pin_thread(struct pin_ctx *c, unsigned worker_index)
{
	if (!c || !c->ncores)
		return -EINVAL;
	unsigned core = worker_index % c->ncores;
#if HAVE_HWLOC
	hwloc_topology_t t = c->topo;
	hwloc_obj_t o = hwloc_get_obj_by_type(t, unit_type(c), core);
	if (!o || !o->cpuset)
		return -ENOENT;
	int npu = hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_PU);
	if (npu <= 0)
		return -ENOENT;
	/* Second pass over the cores uses each core's second PU, and so on. */
	unsigned k = (worker_index / c->ncores) % (unsigned)npu;
	hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_PU, k);
	if (!pu)
		return -ENOENT;
	if (hwloc_set_cpubind(t, pu->cpuset, HWLOC_CPUBIND_THREAD) < 0)
		return errno ? -errno : -EIO;
	return (int)o->logical_index;
#else
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(c->cpus[core], &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return (int)core;
#endif
}

int pin_cpu_core(struct pin_ctx *c, int os_cpu)
{
	if (!c || !c->ncores || os_cpu < 0)
		return -EINVAL;
#if HAVE_HWLOC
	hwloc_topology_t t = c->topo;
	hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)os_cpu);
	if (!pu)
		return -ENOENT;
	if (c->cores_are_pus)
		return (int)pu->logical_index;
	hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
	return core ? (int)core->logical_index : -ENOENT;
#else
	for (unsigned i = 0; i < c->ncores; i++)
		if (c->cpus[i] == os_cpu)
			return (int)i;
	return -ENOENT;
#endif
}

int pin_current_core(struct pin_ctx *c)
{
	if (!c || !c->ncores)
		return -EINVAL;
#if HAVE_HWLOC
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	int rc = hwloc_get_last_cpu_location(c->topo, set, HWLOC_CPUBIND_THREAD);
	int cpu = rc < 0 ? -1 : hwloc_bitmap_first(set);
	int e = errno;
	hwloc_bitmap_free(set);
	if (rc < 0)
		return e ? -e : -EIO;
	return cpu < 0 ? -ENOENT : pin_cpu_core(c, cpu);
#else
	int cpu = sched_getcpu();
	return cpu < 0 ? -errno : pin_cpu_core(c, cpu);
#endif
}

int pin_topology_summary(struct pin_ctx *c, char *buf, size_t len)
{
	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	if (!c || !c->ncores)
		return -EINVAL;
#if HAVE_HWLOC
	hwloc_topology_t t = c->topo;
	int pk = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
	int nn = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
	unsigned upk = pk > 0 ? (unsigned)pk : 0, unn = nn > 0 ? (unsigned)nn : 0;
	snprintf(buf, len, "%u %s, %u %s, %u %s, %u %s%s", upk,
		 plural(upk, "package", "packages"), unn,
		 plural(unn, "NUMA node", "NUMA nodes"), c->ncores,
		 plural(c->ncores, "core", "cores"), c->npus, plural(c->npus, "PU", "PUs"),
		 c->cores_are_pus ? " (no core level: each PU used as a core)" : "");
#else
	snprintf(buf, len, "hwloc unavailable (built without it): %u %s, %u %s "
		 "(each allowed CPU used as a core)", c->ncores,
		 plural(c->ncores, "core", "cores"), c->npus, plural(c->npus, "PU", "PUs"));
#endif
	return 0;
}

void pin_fini(struct pin_ctx *c)
{
	if (!c)
		return;
#if HAVE_HWLOC
	if (c->topo)
		hwloc_topology_destroy(c->topo);
#endif
	free(c->cpus);
	memset(c, 0, sizeof(*c));
}

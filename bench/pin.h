/* SPDX-License-Identifier: MIT */
/*
 * pin.h - binds benchmark worker threads to cores (hwloc).
 *
 * Owns: loading the CPU topology once, the worker -> core placement policy,
 * binding the calling thread, and a one-line topology summary. Must not:
 * bind memory, change the process-wide binding, or bind threads other than
 * the caller.
 *
 * Placement: worker i goes to core (i mod ncores) in hwloc logical order and
 * to PU (i / ncores) mod (PUs of that core) within it, so every core gets one
 * thread before any core gets an SMT sibling. The thread is bound to that
 * single PU. The topology only holds the CPUs this process may use (cgroup,
 * taskset), so "core" means "allowed core".
 *
 * Without hwloc at build time (HAVE_HWLOC 0) every CPU allowed by
 * sched_getaffinity is treated as its own core and sched_setaffinity binds;
 * pin_topology_summary says hwloc was unavailable.
 */
#ifndef VIDMM_PIN_H
#define VIDMM_PIN_H

#include <stdbool.h>
#include <stddef.h>

struct pin_ctx {
	void *topo;             /* hwloc_topology_t; opaque so callers need no hwloc */
	bool hwloc;             /* false: the sched_setaffinity fallback */
	bool cores_are_pus;     /* the topology has no core level */
	unsigned ncores, npus;
	int *cpus;              /* fallback: allowed OS CPU numbers, ncores of them */
};

/*
 * Load the topology of the CPUs this process may run on. Returns 0, or a
 * negative errno (-ENOMEM, -ENODEV when no usable CPU/core is found, or the
 * hwloc failure). On failure nothing is left allocated.
 */
int pin_init(struct pin_ctx *c);

/*
 * Bind the calling thread to one PU of core (worker_index mod ncores), per
 * the placement above. Returns that core's logical index (0..ncores-1), or a
 * negative errno: -EINVAL for a context that is not initialised, or the
 * binding failure (e.g. -EPERM, -EXDEV, -ENOSYS from hwloc/the kernel).
 * Safe to call from several threads at once.
 */
int pin_thread(struct pin_ctx *c, unsigned worker_index);

/* Logical index of the core holding OS CPU os_cpu (as sched_getcpu returns),
 * or -ENOENT when that CPU is not in the topology. */
int pin_cpu_core(struct pin_ctx *c, int os_cpu);

/* Logical index of the core the calling thread last ran on
 * (hwloc_get_last_cpu_location; sched_getcpu without hwloc), or a negative
 * errno. */
int pin_current_core(struct pin_ctx *c);

/* Number of cores placement cycles over (PUs when there is no core level). */
unsigned pin_ncores(const struct pin_ctx *c);

/*
 * One line such as "1 package, 1 NUMA node, 2 cores, 2 PUs" into buf
 * (always terminated when len > 0). Returns 0 or -EINVAL.
 */
int pin_topology_summary(struct pin_ctx *c, char *buf, size_t len);

/* Free the topology. Existing bindings stay as they are. NULL is allowed. */
void pin_fini(struct pin_ctx *c);

#endif

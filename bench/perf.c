/* SPDX-License-Identifier: MIT */
/*
 * perf.c - perf_event_open(2) counting groups for the calling process.
 *
 * Owns: the event table, the open/step-down/fallback logic, enable/disable/
 * read and multiplex scaling, and the availability summaries. Must not: read
 * or write any sysctl except reading perf_event_paranoid, or sample.
 * See perf.h for the counting model, grouping and privilege rules.
 */
#include "perf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>

struct ev_def {
	const char *key;        /* JSON key */
	const char *tool_name;  /* what perf(1) calls it, for summaries */
	uint32_t type;
	uint64_t config;
};

static const struct ev_def defs[PERF_EV_COUNT] = {
	[PERF_EV_CYCLES] = { "cycles", "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
	[PERF_EV_INSTRUCTIONS] = { "instructions", "instructions", PERF_TYPE_HARDWARE,
				   PERF_COUNT_HW_INSTRUCTIONS },
	[PERF_EV_CACHE_REFERENCES] = { "cache_references", "cache-references",
				       PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES },
	[PERF_EV_CACHE_MISSES] = { "cache_misses", "cache-misses", PERF_TYPE_HARDWARE,
				   PERF_COUNT_HW_CACHE_MISSES },
	[PERF_EV_BRANCH_MISSES] = { "branch_misses", "branch-misses", PERF_TYPE_HARDWARE,
				    PERF_COUNT_HW_BRANCH_MISSES },
	[PERF_EV_TASK_CLOCK] = { "task_clock_ns", "task-clock", PERF_TYPE_SOFTWARE,
				 PERF_COUNT_SW_TASK_CLOCK },
	[PERF_EV_PAGE_FAULTS] = { "page_faults", "page-faults", PERF_TYPE_SOFTWARE,
				  PERF_COUNT_SW_PAGE_FAULTS },
	[PERF_EV_CONTEXT_SWITCHES] = { "context_switches", "context-switches",
				       PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
	[PERF_EV_CPU_MIGRATIONS] = { "cpu_migrations", "cpu-migrations", PERF_TYPE_SOFTWARE,
				     PERF_COUNT_SW_CPU_MIGRATIONS },
};

/* Internal result of open_all: the kernel refused inherit + group read. */
#define NEED_SEPARATE 1

static int sys_perf_event_open(struct perf_event_attr *a, int group_fd)
{
	/* pid 0, cpu -1: this thread (and, with inherit, its future children)
	 * on whatever CPU it runs. */
	return (int)syscall(SYS_perf_event_open, a, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

static bool is_hw(enum perf_ev e)
{
	return defs[e].type == PERF_TYPE_HARDWARE;
}

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case ENOSYS: return "ENOSYS";
	case EMFILE: return "EMFILE";
	case E2BIG: return "E2BIG";
	default: return "errno";
	}
}

/* Errors that mean "this event does not exist here", as opposed to errors
 * about the process (no fds, no memory, no syscall) that abort perf_open. */
static bool event_unsupported(int e)
{
	return e == ENOENT || e == EOPNOTSUPP || e == ENODEV || e == EINVAL ||
	       e == EBUSY || e == E2BIG;
}

static int read_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = -100;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -100;
		fclose(f);
	}
	return v;
}

static void attr_for(struct perf_event_attr *a, enum perf_ev e, const struct perf_group *g,
		     bool leader)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = defs[e].type;
	a->config = defs[e].config;
	/* Group members stay enabled and follow their leader; leaders and
	 * separate counters start disabled until perf_start. */
	a->disabled = leader;
	a->inherit = !(g->flags & PERF_OPEN_NO_INHERIT);
	a->exclude_kernel = g->exclude_kernel;
	a->exclude_hv = g->exclude_kernel;
	a->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	if (g->grouped)
		a->read_format |= PERF_FORMAT_GROUP;
}

static void close_all(struct perf_group *g)
{
	for (int i = 0; i < PERF_EV_COUNT; i++) {
		if (g->fd[i] >= 0)
			close(g->fd[i]);
		g->fd[i] = -1;
	}
	g->leader_hw = g->leader_sw = -1;
	g->nopen = 0;
	g->running = false;
}

/* Open every event with the current g->grouped / g->exclude_kernel. Returns
 * 0 (possibly with some events unavailable), -EACCES/-EPERM to ask for the
 * exclude_kernel step-down, NEED_SEPARATE, or a fatal negative errno. */
static int open_all(struct perf_group *g)
{
	struct perf_event_attr a;

	for (int hw = 1; hw >= 0; hw--) {
		int *leader = hw ? &g->leader_hw : &g->leader_sw;
		if (hw && (g->flags & PERF_OPEN_SW_ONLY))
			continue;
		for (int e = 0; e < PERF_EV_COUNT; e++) {
			if (is_hw((enum perf_ev)e) != (bool)hw)
				continue;
			bool lead = !g->grouped || *leader < 0;
			attr_for(&a, (enum perf_ev)e, g, lead);
			int fd = sys_perf_event_open(&a, g->grouped && !lead ? *leader : -1);
			if (fd >= 0) {
				g->fd[e] = fd;
				g->err[e] = 0;
				g->nopen++;
				if (g->grouped && lead)
					*leader = fd;
				continue;
			}
			int err = errno;
			g->err[e] = err;
			if ((err == EACCES || err == EPERM) && !g->exclude_kernel)
				return -err;
			if (err == EINVAL && g->grouped && lead && a.inherit) {
				/* Is it the inherit + PERF_FORMAT_GROUP refusal
				 * of older kernels? Same event without group read. */
				a.read_format &= ~(uint64_t)PERF_FORMAT_GROUP;
				int probe = sys_perf_event_open(&a, -1);
				if (probe >= 0) {
					close(probe);
					return NEED_SEPARATE;
				}
			}
			if (!event_unsupported(err) && err != EACCES && err != EPERM)
				return -err;
		}
	}
	return 0;
}

int perf_open(struct perf_group *g, unsigned flags)
{
	if (!g)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < PERF_EV_COUNT; i++)
		g->fd[i] = -1;
	g->leader_hw = g->leader_sw = -1;
	g->flags = flags;
	g->grouped = !(flags & PERF_OPEN_SEPARATE);
	g->exclude_kernel = flags & PERF_OPEN_USER_ONLY;

	for (;;) {
		int rc = open_all(g);
		if (rc == 0)
			break;
		close_all(g);
		if ((rc == -EACCES || rc == -EPERM) && !g->exclude_kernel) {
			g->exclude_kernel = true;
			continue;
		}
		if (rc == NEED_SEPARATE && g->grouped) {
			g->grouped = false;
			continue;
		}
		return rc < 0 ? rc : -EINVAL;
	}
	if (g->nopen)
		return 0;
	/* Nothing opened: say the most useful why. */
	int why = -ENOENT;
	for (int i = 0; i < PERF_EV_COUNT; i++) {
		if (g->err[i] == EACCES || g->err[i] == EPERM)
			why = -g->err[i];
	}
	return why;
}

/* The fds to which a group-wide ioctl/read is sent. */
static int targets(const struct perf_group *g, int out[PERF_EV_COUNT])
{
	int n = 0;

	if (g->grouped) {
		if (g->leader_hw >= 0)
			out[n++] = g->leader_hw;
		if (g->leader_sw >= 0)
			out[n++] = g->leader_sw;
	} else {
		for (int i = 0; i < PERF_EV_COUNT; i++)
			if (g->fd[i] >= 0)
				out[n++] = g->fd[i];
	}
	return n;
}

static int ioctl_all(struct perf_group *g, unsigned long req)
{
	int t[PERF_EV_COUNT];
	int n = targets(g, t);

	if (!g->nopen)
		return -EBADF;
	for (int i = 0; i < n; i++)
		if (ioctl(t[i], req, g->grouped ? PERF_IOC_FLAG_GROUP : 0) < 0)
			return -errno;
	return 0;
}

int perf_start(struct perf_group *g)
{
	int rc;

	if (!g)
		return -EINVAL;
	/* RESET zeroes counts but not the enabled/running times, which are
	 * cumulative since open: perf_read reports times relative to here. */
	rc = ioctl_all(g, PERF_EVENT_IOC_RESET);
	if (rc)
		return rc;
	g->running = false;
	struct perf_counts base;
	rc = perf_read(g, &base);
	if (rc)
		return rc;
	for (unsigned i = 0; i < base.n; i++) {
		g->base_enabled[base.c[i].ev] += base.c[i].time_enabled;
		g->base_running[base.c[i].ev] += base.c[i].time_running;
	}
	rc = ioctl_all(g, PERF_EVENT_IOC_ENABLE);
	if (rc == 0)
		g->running = true;
	return rc;
}

int perf_stop(struct perf_group *g)
{
	if (!g)
		return -EINVAL;
	int rc = ioctl_all(g, PERF_EVENT_IOC_DISABLE);
	if (rc == 0)
		g->running = false;
	return rc;
}

static void put(struct perf_group *g, struct perf_counter *c, enum perf_ev e, uint64_t raw,
		uint64_t en, uint64_t run)
{
	/* Times are relative to the last perf_start (see there). */
	en = en >= g->base_enabled[e] ? en - g->base_enabled[e] : 0;
	run = run >= g->base_running[e] ? run - g->base_running[e] : 0;
	c->name = defs[e].key;
	c->ev = e;
	c->raw = raw;
	c->time_enabled = en;
	c->time_running = run;
	c->scaled = run && run < en;
	/* A counter multiplexed off the PMU for part of the run counted only
	 * while running; extrapolate to the whole enabled time. */
	c->value = c->scaled ? (uint64_t)((double)raw * ((double)en / (double)run)) : raw;
}

int perf_read(struct perf_group *g, struct perf_counts *out)
{
	if (!g || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!g->nopen)
		return -EBADF;

	struct perf_counter tmp[PERF_EV_COUNT];
	bool have[PERF_EV_COUNT] = { false };

	if (g->grouped) {
		for (int hw = 1; hw >= 0; hw--) {
			int leader = hw ? g->leader_hw : g->leader_sw;
			if (leader < 0)
				continue;
			/* nr, time_enabled, time_running, value[nr]: members in
			 * the order they were opened, which is enum order. */
			uint64_t buf[3 + PERF_EV_COUNT];
			ssize_t r = read(leader, buf, sizeof(buf));
			if (r < 0)
				return -errno;
			if (r < (ssize_t)(3 * sizeof(uint64_t)) ||
			    (size_t)r < (3 + buf[0]) * sizeof(uint64_t))
				return -EIO;
			uint64_t k = 0;
			for (int e = 0; e < PERF_EV_COUNT && k < buf[0]; e++) {
				if (is_hw((enum perf_ev)e) != (bool)hw || g->fd[e] < 0)
					continue;
				put(g, &tmp[e], (enum perf_ev)e, buf[3 + k], buf[1], buf[2]);
				have[e] = true;
				k++;
			}
		}
	} else {
		for (int e = 0; e < PERF_EV_COUNT; e++) {
			if (g->fd[e] < 0)
				continue;
			uint64_t buf[3];   /* value, time_enabled, time_running */
			ssize_t r = read(g->fd[e], buf, sizeof(buf));
			if (r < 0)
				return -errno;
			if (r != (ssize_t)sizeof(buf))
				return -EIO;
			put(g, &tmp[e], (enum perf_ev)e, buf[0], buf[1], buf[2]);
			have[e] = true;
		}
	}
	for (int e = 0; e < PERF_EV_COUNT; e++)
		if (have[e])
			out->c[out->n++] = tmp[e];
	return 0;
}

void perf_close(struct perf_group *g)
{
	if (!g)
		return;
	close_all(g);
}

const char *perf_ev_name(enum perf_ev ev)
{
	return (unsigned)ev < PERF_EV_COUNT ? defs[ev].key : NULL;
}

int perf_counts_get(const struct perf_counts *c, const char *name, uint64_t *value)
{
	if (!c || !name)
		return -EINVAL;
	for (unsigned i = 0; i < c->n; i++) {
		if (strcmp(c->c[i].name, name) == 0) {
			if (value)
				*value = c->c[i].value;
			return 0;
		}
	}
	return -ENOENT;
}

/* Bounded append that never overflows and always terminates. */
static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (w > 0)
		*pos += (size_t)w < len - *pos ? (size_t)w : len - *pos - 1;
}

int perf_group_summary(const struct perf_group *g, char *buf, size_t len)
{
	size_t pos = 0;
	bool any = false;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	if (!g)
		return -EINVAL;
	cat(buf, len, &pos, "perf_event_paranoid=%d; available:", read_paranoid());
	for (int e = 0; e < PERF_EV_COUNT; e++) {
		if (g->fd[e] >= 0) {
			cat(buf, len, &pos, " %s", defs[e].tool_name);
			any = true;
		}
	}
	if (!any)
		cat(buf, len, &pos, " none");
	cat(buf, len, &pos, "; unavailable:");
	any = false;
	for (int e = 0; e < PERF_EV_COUNT; e++) {
		if (g->fd[e] < 0) {
			if (g->err[e])
				cat(buf, len, &pos, " %s (%s)", defs[e].tool_name,
				    errno_name(g->err[e]));
			else
				cat(buf, len, &pos, " %s (not requested)", defs[e].tool_name);
			any = true;
		}
	}
	if (!any)
		cat(buf, len, &pos, " none");
	cat(buf, len, &pos, "; exclude_kernel: %s",
	    !g->exclude_kernel ? "not needed" :
	    (g->flags & PERF_OPEN_USER_ONLY) ? "requested" : "needed");
	cat(buf, len, &pos, "; read: %s%s", g->grouped ? "grouped (PERF_FORMAT_GROUP)" :
	    (g->flags & PERF_OPEN_SEPARATE) ? "separate counters (requested)" :
	    "separate counters (kernel refused inherit with group read)",
	    (g->flags & PERF_OPEN_NO_INHERIT) ? ", this thread only" : ", inherit");
	return 0;
}

int perf_available_summary(char *buf, size_t len)
{
	struct perf_group g;
	int rc;

	if (!buf || !len)
		return -EINVAL;
	rc = perf_open(&g, 0);
	if (rc < 0) {
		snprintf(buf, len, "perf_event_paranoid=%d; perf_event_open unusable: %s (%s)",
			 read_paranoid(), strerror(-rc), errno_name(-rc));
		return rc;
	}
	rc = perf_group_summary(&g, buf, len);
	perf_close(&g);
	return rc;
}

bool perf_hw_counters_available(void)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	int fd = sys_perf_event_open(&a, -1);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

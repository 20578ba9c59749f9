/* SPDX-License-Identifier: MIT */
/*
 * test_hw.c - HW-PROBE, HW-PERF, HW-PIN: the hardware helper modules
 * (drivers/probe, bench/perf, bench/pin) on whatever machine runs the tests.
 *
 * Owns: checks that hold on a GPU-less 2-core VM without a PMU as well as on
 * a GPU server. Must not: require a GPU, hardware counters, or root; assert
 * from any thread but the main one (cmocka's longjmp lives there).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/perf_event.h>

#include "vt.h"
#include "bench/perf.h"
#include "bench/pin.h"
#include "drivers/probe.h"

#define NONE_MSG "no display-class PCI devices found (class 0x03xx)"

/* Run probe_run into a string (caller frees). */
static char *probe_capture(bool json, int *rc)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	*rc = probe_run(f, json);
	fclose(f);
	assert_non_null(s);
	return s;
}

static void test_probe(void **state)
{
	(void)state;
	char buf[32];

	assert_string_equal(probe_fmt_size(256ull << 20, buf, sizeof(buf)), "256 MiB");
	assert_string_equal(probe_fmt_size(16ull << 30, buf, sizeof(buf)), "16 GiB");
	assert_string_equal(probe_fmt_size(4096, buf, sizeof(buf)), "4 KiB");
	assert_string_equal(probe_fmt_size(1536ull << 20, buf, sizeof(buf)), "1.5 GiB");

	size_t n = 0;
	int lrc = probe_list(NULL, 0, &n);
	assert_int_equal(probe_list(NULL, 0, NULL), -EINVAL);

	int rc;
	char *text = probe_capture(false, &rc);
	printf("probe_run (text):\n%s", text);
	assert_int_equal(rc, 0);
	assert_true(strlen(text) > 0);

	if (lrc == -ENOSYS) {
		assert_non_null(strstr(text, "libpci unavailable"));
		free(text);
		return;
	}
	if (lrc == -EACCES) {
		/* A sandbox without /sys or /proc bus info: said plainly. */
		assert_non_null(strstr(text, "cannot access PCI bus information"));
		free(text);
		return;
	}
	assert_int_equal(lrc, 0);

	/* probe_list and probe_run agree: none -> the sentence; some -> each
	 * address listed and no "none" sentence. */
	struct probe_dev *d = calloc(n ? n : 1, sizeof(*d));
	assert_non_null(d);
	size_t n2 = 0;
	assert_int_equal(probe_list(d, n, &n2), 0);
	assert_int_equal(n2, n);
	if (n == 0) {
		assert_non_null(strstr(text, NONE_MSG));
	} else {
		assert_null(strstr(text, NONE_MSG));
		for (size_t i = 0; i < n; i++) {
			char addr[32];
			snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", d[i].domain,
				 d[i].bus, d[i].dev, d[i].func);
			assert_int_equal(d[i].class_id >> 8, 0x03);
			assert_non_null(strstr(text, addr));
			for (unsigned b = 0; b < d[i].nbars; b++)
				assert_true(d[i].bars[b].size > 0);
		}
	}
	/* max smaller than the count: *n still the total, nothing overrun. */
	if (n > 1) {
		size_t n3 = 0;
		assert_int_equal(probe_list(d, 1, &n3), 0);
		assert_int_equal(n3, n);
	}

	/* JSON: parses, and lists the same number of devices. */
	char *js = probe_capture(true, &rc);
	assert_int_equal(rc, 0);
	json_error_t jerr;
	json_t *root = json_loads(js, 0, &jerr);
	if (!root)
		fail_msg("probe JSON does not parse (%s): %s", jerr.text, js);
	json_t *devs = json_object_get(root, "devices");
	assert_true(json_is_array(devs));
	assert_int_equal(json_array_size(devs), n);
	assert_string_equal(json_string_value(json_object_get(root, "status")),
			    n ? "ok" : "none");
	if (n) {
		json_t *d0 = json_array_get(devs, 0);
		assert_true(json_is_array(json_object_get(d0, "bars")));
		assert_int_equal(json_array_size(json_object_get(d0, "bars")), d[0].nbars);
	}
	json_decref(root);
	free(js);
	free(text);
	free(d);

	/* A bus libpci cannot read is a finding, not a crash or an exit(1). */
	probe_set_sysfs_root("/nonexistent-vidmm-test/bus/pci");
	size_t nx = 99;
	assert_int_equal(probe_list(NULL, 0, &nx), -EACCES);
	assert_true(strlen(probe_last_error()) > 0);
	text = probe_capture(false, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text, "cannot access PCI bus information"));
	printf("with a missing sysfs: %s", text);
	free(text);
	js = probe_capture(true, &rc);
	assert_int_equal(rc, 0);
	root = json_loads(js, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "status")), "no-access");
	json_decref(root);
	free(js);
	probe_set_sysfs_root(NULL);
}

/* ---- HW-PERF ---- */

#define TOUCH_BYTES (8u << 20)

/* Touch fresh anonymous memory one byte per page; returns pages touched, or
 * 0 when mmap failed. Small pages on purpose (one fault per page). */
static size_t touch_fresh(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, TOUCH_BYTES, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)madvise((void *)p, TOUCH_BYTES, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < TOUCH_BYTES; off += pg)
		p[off] = (char)off;
	munmap((void *)p, TOUCH_BYTES);
	return TOUCH_BYTES / pg;
}

static void *touch_thread(void *arg)
{
	*(size_t *)arg = touch_fresh();
	return NULL;
}

static uint64_t get(const struct perf_counts *c, const char *name)
{
	uint64_t v = 0;
	if (perf_counts_get(c, name, &v) != 0)
		fail_msg("counter %s not read", name);
	return v;
}

static bool direct_hw_instructions(void)
{
	for (int ek = 0; ek <= 1; ek++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_HARDWARE;
		a.config = PERF_COUNT_HW_INSTRUCTIONS;
		a.disabled = 1;
		a.exclude_kernel = (unsigned)ek;
		a.exclude_hv = (unsigned)ek;
		int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
		if (fd >= 0) {
			close(fd);
			return true;
		}
	}
	return false;
}

static void perf_one_mode(unsigned flags)
{
	struct perf_group g;
	struct perf_counts c;
	char sum[1024];

	int rc = perf_open(&g, flags);
	assert_int_equal(rc, 0);
	assert_int_equal(perf_group_summary(&g, sum, sizeof(sum)), 0);
	printf("perf_open(0x%x): %s\n", flags, sum);
	if (flags & PERF_OPEN_SEPARATE)
		assert_false(g.grouped);
	if (flags & PERF_OPEN_USER_ONLY)
		assert_true(g.exclude_kernel);

	assert_int_equal(perf_start(&g), 0);
	size_t pages = touch_fresh();
	assert_true(pages > 0);
	/* Faults in a thread created after perf_open count too (inherit). */
	size_t tpages = 0;
	pthread_t th;
	if (!(flags & PERF_OPEN_NO_INHERIT)) {
		assert_int_equal(pthread_create(&th, NULL, touch_thread, &tpages), 0);
		pthread_join(th, NULL);
		assert_true(tpages > 0);
	}
	assert_int_equal(perf_stop(&g), 0);
	assert_int_equal(perf_read(&g, &c), 0);
	assert_true(c.n >= 4);
	for (unsigned i = 0; i < c.n; i++) {
		printf("  %-18s %12" PRIu64 " (raw %" PRIu64 ", enabled %" PRIu64
		       " ns, running %" PRIu64 " ns)\n", c.c[i].name, c.c[i].value,
		       c.c[i].raw, c.c[i].time_enabled, c.c[i].time_running);
		assert_true(c.c[i].value >= c.c[i].raw);
		assert_string_equal(c.c[i].name, perf_ev_name(c.c[i].ev));
	}
	uint64_t tc = get(&c, "task_clock_ns"), pf = get(&c, "page_faults");
	assert_true(tc > 0);
	assert_true(pf > 0);
	/* One fault per small page (MADV_NOHUGEPAGE); allow for the kernel
	 * mapping some pages without a fault. */
	assert_true(pf >= (pages + tpages) / 2);
	(void)get(&c, "context_switches");
	(void)get(&c, "cpu_migrations");

	/* Stopped counters stay put. */
	assert_true(touch_fresh() > 0);
	struct perf_counts c2;
	assert_int_equal(perf_read(&g, &c2), 0);
	assert_int_equal(get(&c2, "page_faults"), pf);

	/* A second start resets counts and times. */
	assert_int_equal(perf_start(&g), 0);
	assert_int_equal(perf_stop(&g), 0);
	assert_int_equal(perf_read(&g, &c2), 0);
	assert_true(get(&c2, "page_faults") < pf);
	assert_true(get(&c2, "task_clock_ns") < tc);

	bool hw = perf_hw_counters_available();
	if (!(flags & PERF_OPEN_SW_ONLY))
		assert_int_equal(perf_counts_get(&c, "instructions", NULL) == 0, hw);
	else
		assert_int_equal(perf_counts_get(&c, "instructions", NULL), -ENOENT);
	perf_close(&g);
	perf_close(&g);   /* idempotent */
}

static void test_perf(void **state)
{
	(void)state;
	char sum[1024];

	int rc = perf_available_summary(sum, sizeof(sum));
	printf("perf_available_summary: %s\n", sum);
	assert_true(strlen(sum) > 0);
	if (rc == -EACCES || rc == -EPERM || rc == -ENOSYS) {
		printf("SKIP: perf_event_open is forbidden here (%s) even with "
		       "exclude_kernel; HW-PERF needs perf_event_paranoid <= 2 or CAP_PERFMON\n",
		       strerror(-rc));
		skip();
	}
	assert_int_equal(rc, 0);
	assert_non_null(strstr(sum, "task-clock"));

	/* perf_hw_counters_available agrees with a direct open. */
	bool hw = perf_hw_counters_available();
	assert_int_equal(hw, direct_hw_instructions());
	printf("hardware counters: %s\n", hw ? "available" : "not available");

	perf_one_mode(0);
	perf_one_mode(PERF_OPEN_SEPARATE);
	perf_one_mode(PERF_OPEN_USER_ONLY | PERF_OPEN_SW_ONLY);
	perf_one_mode(PERF_OPEN_NO_INHERIT);
}

/* ---- HW-PIN ---- */

struct pin_job {
	struct pin_ctx *ctx;
	unsigned worker;
	int core;             /* pin_thread's result */
	int ran_core;         /* core of sched_getcpu after the spin */
	int last_core;        /* pin_current_core after the spin */
	int ncpus_allowed;    /* CPUs in the thread's affinity mask */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *pin_worker(void *arg)
{
	struct pin_job *j = arg;
	j->core = pin_thread(j->ctx, j->worker);
	if (j->core < 0)
		return NULL;
	/* Spin a little so the scheduler has had every chance to move us. */
	volatile unsigned long x = 0;
	for (double t0 = now_s(); now_s() - t0 < 0.02;)
		x++;
	j->ran_core = pin_cpu_core(j->ctx, sched_getcpu());
	j->last_core = pin_current_core(j->ctx);
	cpu_set_t set;
	CPU_ZERO(&set);
	j->ncpus_allowed = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
	return NULL;
}

static void test_pin(void **state)
{
	(void)state;
	struct pin_ctx ctx;
	char sum[256];

	assert_int_equal(pin_init(&ctx), 0);
	assert_int_equal(pin_topology_summary(&ctx, sum, sizeof(sum)), 0);
	printf("topology: %s\n", sum);
	assert_non_null(strstr(sum, "core"));
	unsigned nc = pin_ncores(&ctx);
	assert_true(nc >= 1);

	/* Two rounds over the cores, one thread at a time: round-robin. */
	for (unsigned w = 0; w < 2 * nc && w < 64; w++) {
		struct pin_job j = { .ctx = &ctx, .worker = w };
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, pin_worker, &j), 0);
		pthread_join(th, NULL);
		printf("worker %u -> core %d (ran on core %d, last location core %d, "
		       "%d CPU allowed)\n", w, j.core, j.ran_core, j.last_core, j.ncpus_allowed);
		assert_int_equal(j.core, (int)(w % nc));
		assert_int_equal(j.ran_core, j.core);
		assert_int_equal(j.last_core, j.core);
		assert_int_equal(j.ncpus_allowed, 1);
	}
	assert_int_equal(pin_cpu_core(&ctx, -1), -EINVAL);
	pin_fini(&ctx);
	pin_fini(&ctx);   /* idempotent */
	assert_true(pin_thread(&ctx, 0) < 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("HW-PROBE", test_probe),
		VT_CASE("HW-PERF", test_perf),
		VT_CASE("HW-PIN", test_pin),
	};
	return VT_MAIN("test_hw", cases);
}

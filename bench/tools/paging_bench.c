/* SPDX-License-Identifier: MIT */
/*
 * paging_bench.c - page-out and page-in throughput through the paging segment
 * (window mode: one GPU copy; bounce mode: GPU copy + CPU copy) for 64 KiB,
 * 2 MiB and 32 MiB allocations, each beside a plain single-thread memcpy of
 * the same bytes measured in the same run; and the cost of submitting a job
 * whose 16 allocations are all resident.
 *
 * Owns: only its measurements. Prints ratios, not verdicts on absolute times:
 * this machine is shared and noisy, ratios measured in one run are what
 * compare. Targets (issue 3): window >= 0.8x memcpy at 2 MiB, bounce >= 0.4x,
 * submit of 16 resident allocations <= 1 us median.
 *
 * Usage: paging_bench [--quick] [--profile NAME] [--copy-engines N] [--help]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform.h"
#include "drivers/vulkan/vk.h"

static const char *driver = "emu";
static const char *device_want; /* --device (Vulkan): NULL the first usable */

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/*
 * GB/s of a single-thread memcpy of the same bytes the paging run moves: n
 * distinct size-byte buffers (the same working set, so the same cache
 * behaviour: re-copying one hot buffer would measure the cache, not memory),
 * pre-faulted, median of reps passes.
 */
static double memcpy_gbps(uint64_t size, int n, int reps)
{
	uint64_t total = size * (uint64_t)n;
	char *a = malloc(total), *b = malloc(total);
	uint64_t *t = calloc((size_t)reps, sizeof(*t));

	memset(a, 1, total);
	memset(b, 2, total);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now();
		for (int i = 0; i < n; i++) {
			memcpy(b + (uint64_t)i * size, a + (uint64_t)i * size, size);
			__asm__ volatile("" : : "r"(b) : "memory");
		}
		t[r] = now() - t0;
	}
	double gbps = (double)total / (double)median(t, (size_t)reps);
	free(a);
	free(b);
	free(t);
	return gbps;
}

struct pager {
	struct platform pl;
	int seg;
};

static int open_mode(struct pager *p, const struct vidmm_profile *prof, enum vidmm_paging_mode mode)
{
	char err[256];
	struct vidmm_config cfg;

	struct platform_opts po = { .device = device_want };
	int r = platform_open_opts(prof, driver, &po, &p->pl, err, sizeof(err));
	if (r) {
		fprintf(stderr, "paging_bench: %s%s\n", r == -ENXIO ? "skipped: " : "", err);
		return r == -ENXIO ? -77 : r == -EINVAL ? -2 : -1;
	}
	/* Re-init the manager on the same chip with the mode under test. */
	cfg = p->pl.cfg;
	cfg.paging_mode = mode;
	vidmm_destroy(p->pl.vm);
	if (vidmm_init(&cfg, &p->pl.vm)) {
		fprintf(stderr, "paging_bench: vidmm_init: %s\n", vidmm_init_error());
		return -1;
	}
	p->pl.cfg = cfg;
	p->seg = platform_find_segment(p->pl.vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE, VIDMM_SEG_LOCAL);
	return p->seg < 0 ? -1 : 0;
}

static int submit_wait(vidmm_t *vm, enum vidmm_job_op op, vidmm_handle_t h, uint64_t seed,
		       uint64_t *result)
{
	return platform_job1(vm, op, seed, h, result, 10000000000ull, NULL);
}

/*
 * Page n allocations of size out and back in, rounds times; returns GB/s of
 * page-out and page-in (allocation bytes over the manager's own page-out and
 * page-in latency sums) and the bytes the copies moved per allocation byte.
 */
static int measure(struct pager *p, uint64_t size, int n, int rounds, double *out_gbps,
		   double *in_gbps, double *copy_factor, uint64_t *errors)
{
	vidmm_t *vm = p->pl.vm;
	vidmm_handle_t *h = calloc((size_t)n, sizeof(*h));
	struct vidmm_hist ho0, hi0, ho1, hi1;
	struct vidmm_stats s0, s1;
	int ret = 0;

	for (int i = 0; i < n && !ret; i++) {
		struct vidmm_alloc_desc d = { .size = size, .priority = VIDMM_PRIO_NORMAL,
					      .n_preferred = 1, .preferred = { (uint32_t)p->seg } };
		ret = vidmm_create_allocation(vm, &d, &h[i]);
		if (!ret)
			ret = submit_wait(vm, VIDMM_JOB_FILL, h[i], (uint64_t)i + 1, NULL);
	}
	/* Warm-up round: the first page-out faults the system frames in. */
	for (int r = 0; r <= rounds && !ret; r++) {
		if (r == 1) {
			vidmm_query_histogram(vm, VIDMM_HIST_PAGE_OUT, &ho0);
			vidmm_query_histogram(vm, VIDMM_HIST_PAGE_IN, &hi0);
			vidmm_query_stats(vm, &s0);
		}
		for (int i = 0; i < n && !ret; i++)
			ret = vidmm_evict(vm, h[i]);
		for (int i = 0; i < n && !ret; i++)
			ret = submit_wait(vm, VIDMM_JOB_TOUCH, h[i], 0, NULL);
	}
	vidmm_query_histogram(vm, VIDMM_HIST_PAGE_OUT, &ho1);
	vidmm_query_histogram(vm, VIDMM_HIST_PAGE_IN, &hi1);
	vidmm_query_stats(vm, &s1);
	for (int i = 0; i < n && !ret; i++) {
		uint64_t bad = 0;
		ret = submit_wait(vm, VIDMM_JOB_VERIFY, h[i], (uint64_t)i + 1, &bad);
		*errors += bad;
	}
	for (int i = 0; i < n; i++)
		if (h[i])
			vidmm_destroy_allocation(vm, h[i]);
	free(h);
	if (ret)
		return ret;
	double bytes = (double)size * n * rounds;
	*out_gbps = bytes / (double)(ho1.sum - ho0.sum);
	*in_gbps = bytes / (double)(hi1.sum - hi0.sum);
	*copy_factor = (double)(s1.bytes_copied_window - s0.bytes_copied_window +
				s1.bytes_copied_bounce - s0.bytes_copied_bounce) / (2 * bytes);
	return 0;
}

static int submit_latency(struct pager *p, int iters, uint64_t *p50, uint64_t *p99)
{
	vidmm_t *vm = p->pl.vm;
	vidmm_handle_t h[16];
	struct vidmm_job j = { .op = VIDMM_JOB_TOUCH, .nrefs = 16 };
	struct vidmm_fence f = { 0 };
	uint64_t *t = calloc((size_t)iters, sizeof(*t));
	int ret = 0;

	for (int i = 0; i < 16 && !ret; i++) {
		struct vidmm_alloc_desc d = { .size = 65536, .priority = VIDMM_PRIO_NORMAL };
		ret = vidmm_create_allocation(vm, &d, &h[i]);
		j.refs[i].handle = h[i];
		j.refs[i].access = VIDMM_ACCESS_READ;
	}
	for (int i = 0; i < iters && !ret; i++) {
		uint64_t t0 = now();
		ret = vidmm_submit(vm, &j, &f);
		t[i] = now() - t0;
		/* Keep the engine's ring from filling: a full ring would make
		 * submit wait for the GPU, which is not what is measured. */
		if (i % 64 == 63 && !ret)
			ret = vidmm_wait_fence(vm, f, 10000000000ull);
	}
	if (!ret)
		ret = vidmm_wait_fence(vm, f, 10000000000ull);
	qsort(t, (size_t)iters, sizeof(*t), cmp_u64);
	*p50 = t[iters / 2];
	*p99 = t[iters * 99 / 100];
	for (int i = 0; i < 16; i++)
		vidmm_destroy_allocation(vm, h[i]);
	free(t);
	return ret;
}

int main(int argc, char **argv)
{
	const char *profile = "default";
	bool quick = false;
	int engines = 1;
	struct vidmm_profile prof;
	char err[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else if (!strcmp(argv[i], "--driver") && i + 1 < argc) {
			driver = argv[++i];
			if (strcmp(driver, "emu") && strcmp(driver, "vulkan")) {
				fprintf(stderr, "paging_bench: --driver: emu or vulkan\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			device_want = argv[++i];
		} else if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
			profile = argv[++i];
		} else if (!strcmp(argv[i], "--copy-engines") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			engines = *end || end == argv[i] ? -1 : (int)(v > 100 ? 100 : v);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: paging_bench [--quick] [--profile NAME|FILE.json] "
			       "[--copy-engines N] [--driver emu|vulkan] [--device N|NAME]\n\n"
			       "Page-out and page-in throughput through the paging segment, window\n"
			       "(one GPU copy) and bounce (GPU copy + CPU copy), for 64 KiB, 2 MiB and\n"
			       "32 MiB allocations, each beside a single-thread memcpy of the same\n"
			       "bytes in the same run (ratios, not absolute times), and the cost of\n"
			       "submitting a job whose 16 allocations are resident.\n\n"
			       "  --quick           fewer rounds (a CI smoke run)\n"
			       "  --profile P       a built-in profile or a JSON file (default: default)\n"
			       "  --copy-engines N  copy engines of the emulated chip, 1..8 (default 1)\n"
			       "  --driver vulkan   through a Vulkan device: the reference beside each\n"
			       "                    figure is then a raw vkCmdCopyBuffer of the same\n"
			       "                    bytes between the same memory types (on lavapipe a\n"
			       "                    CPU memcpy: the ratio is the manager's overhead)\n"
			       "  --device N|NAME   with --driver vulkan: the device's index or part of\n"
			       "                    its name, as vidmm-bench probe lists them (default:\n"
			       "                    the first usable one)\n");
			return 0;
		} else {
			fprintf(stderr, "paging_bench: unknown argument '%s'\nusage: paging_bench "
				"[--quick] [--profile NAME|FILE.json] [--copy-engines N] [--driver emu|vulkan] "
				"[--device N|NAME] [--help]\n",
				argv[i]);
			return 2;
		}
	}
	if (device_want && strcmp(driver, "vulkan")) {
		fprintf(stderr, "paging_bench: --device: only with --driver vulkan\n");
		return 2;
	}
	if (vidmm_profile_resolve(profile, &prof, err, sizeof(err))) {
		fprintf(stderr, "paging_bench: --profile: %s\n", err);
		return 2;
	}
	/* The targets are stated for one copy engine. */
	if (engines < 1 || engines > 8) {
		fprintf(stderr, "paging_bench: --copy-engines: 1..8\n");
		return 2;
	}
	prof.copy_engines = (uint32_t)engines;
	static const uint64_t sizes[] = { 64 << 10, 2 << 20, 32 << 20 };
	const char *mode_name[] = { "window", "bounce" };
	double ratio_2m[2] = { 0, 0 };
	uint64_t errors = 0;
	int rc = 0;

	bool vk = strcmp(driver, "vulkan") == 0;
	/* The first chip before any output: a bad --device or no device ends
	 * the program with nothing printed to stdout. */
	struct pager p;
	int om = open_mode(&p, &prof, (enum vidmm_paging_mode)0);
	if (om)
		return om == -77 ? 77 : om == -2 ? 2 : 1;
	char device[256] = "";
	if (vk)
		snprintf(device, sizeof(device), "%s", vk_chip_device_name(p.pl.vk));
	printf("paging_bench: driver %s, profile %s, %u copy engine(s), %s; page-out/page-in GB/s\n"
	       "from the manager's own latency sums, beside %s of the same bytes (same 64 MiB\n"
	       "working set) in this run\n\n", driver,
	       prof.name, prof.copy_engines, quick ? "quick" : "full",
	       vk ? "a raw vkCmdCopyBuffer (local -> system for page-out, back for page-in),\n"
		    "one submit and host wait per allocation as a synchronous page-out (raw), and\n"
		    "all of them in one submit (batch)"
		  : "a single-thread memcpy");
	printf("%-7s %8s %9s %9s %9s %9s %8s %8s %7s%s\n", "mode", "size", "out GB/s", "in GB/s",
	       vk ? "raw out" : "memcpy", vk ? "raw in" : "", "out/raw", "in/raw", "copies",
	       vk ? "  out/batch  in/batch" : "");
	for (int m = 0; m < 2; m++) {
		if (m) {
			om = open_mode(&p, &prof, (enum vidmm_paging_mode)m);
			if (om)
				return om == -77 ? 77 : om == -2 ? 2 : 1;
		}
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			uint64_t size = sizes[s];
			/* About 64 MiB per round, at least 2 allocations. */
			int n = (int)((64ull << 20) / size);
			if (n < 2)
				n = 2;
			int rounds = quick ? 2 : 5;
			double og, ig, cf;
			if (measure(&p, size, n, rounds, &og, &ig, &cf, &errors)) {
				fprintf(stderr, "paging_bench: measurement failed\n");
				rc = 1;
				continue;
			}
			double mo, mi, bo = 0, bi = 0;
			if (vk) {
				/* the reference: each allocation's bytes in their own
				 * submit and wait, as a synchronous page-out is; the
				 * batched figure beside it is the queue's best */
				int reps = quick ? 5 : 11;
				if (vk_chip_raw_copy_gbps(p.pl.vk, size, n, reps, true, true, &mo) ||
				    vk_chip_raw_copy_gbps(p.pl.vk, size, n, reps, false, true, &mi) ||
				    vk_chip_raw_copy_gbps(p.pl.vk, size, n, reps, true, false, &bo) ||
				    vk_chip_raw_copy_gbps(p.pl.vk, size, n, reps, false, false, &bi)) {
					fprintf(stderr, "paging_bench: the raw copy failed\n");
					rc = 1;
					continue;
				}
				printf("%-7s %7" PRIu64 "K %9.2f %9.2f %9.2f %9.2f %8.2f %8.2f %7.2f %9.2f %9.2f\n",
				       mode_name[m], size >> 10, og, ig, mo, mi, og / mo, ig / mi, cf,
				       og / bo, ig / bi);
			} else {
				mo = mi = memcpy_gbps(size, n, quick ? 5 : 11);
				printf("%-7s %7" PRIu64 "K %9.2f %9.2f %9.2f %9s %8.2f %8.2f %7.2f\n",
				       mode_name[m], size >> 10, og, ig, mo, "", og / mo, ig / mi, cf);
			}
			if (size == (2u << 20))
				ratio_2m[m] = og / mo < ig / mi ? og / mo : ig / mi;
		}
		if (m == 0) {
			uint64_t p50, p99;
			if (submit_latency(&p, quick ? 20000 : 200000, &p50, &p99) == 0)
				printf("\nsubmit of a job with 16 resident allocations: p50 %" PRIu64
				       " ns, p99 %" PRIu64 " ns (target p50 <= 1000 ns: %s)\n\n",
				       p50, p99, p50 <= 1000 ? "met" : "NOT MET");
		}
		platform_close(&p.pl);
	}
	printf("\n2 MiB, min(out/raw, in/raw): window %.2f (target >= 0.80: %s), bounce %.2f "
	       "(target >= 0.40: %s)\n", ratio_2m[0], ratio_2m[0] >= 0.8 ? "met" : "NOT MET",
	       ratio_2m[1], ratio_2m[1] >= 0.4 ? "met" : "NOT MET");
	printf("integrity: %" PRIu64 " mismatched words after all page-outs and page-ins\n", errors);
	if (vk) {
		/* Counted only with the validation layer on (VIDMM_VK_VALIDATION=1):
		 * the raw reference's own commands are checked as the manager's are. */
		uint64_t msgs = vk_validation_messages();
		printf("device: %s\nvalidation messages: %" PRIu64 "\n", device, msgs);
		if (msgs)
			rc = 1;
	}
	return rc || errors ? 1 : 0;
}

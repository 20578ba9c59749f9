/* SPDX-License-Identifier: MIT */
/*
 * test_shared.c - what clients share: several threads calling the manager on
 * the same allocations at once, and the contracts every call keeps (a failed
 * call changes nothing, every errno is documented, memory handed out is
 * cleared, a locked allocation is not freed under its CPU pointer, an
 * unpagable one never moves, nothing a late copy may write is reused, a
 * fence recorded on a shared allocation never goes back).
 *
 * Owns: those cases (tests/meson.build names them, as the issue did). Must
 * not: reach into core internals; it sees the manager through vidmm.h, the
 * hardware through the emulator's test hooks, and the documented errnos
 * through bench/contract.h.
 *
 * Every random case prints its seed (VIDMM_SEED replays it). A watchdog
 * turns a hang (a call or vidmm_check that never returns, as a corrupted
 * list makes it) into a failure with a message rather than a meson timeout.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include <jansson.h>
#include <xxhash.h>

#include "vt.h"
#include "vt_env.h"
#include "vt_proc.h"
#include "bench/contract.h"

#define KIB VT_KIB
#define MIB VT_MIB
#define MS VT_MS
#define SEC VT_SEC

/* ---- helpers ------------------------------------------------------------------------- */

static void on_alarm(int sig)
{
	static const char msg[] = "watchdog: a call or vidmm_check did not return "
				  "(a list of the manager loops, or a lock is never released)\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say */
	}
	_exit(1);
}

static void watchdog(unsigned seconds)
{
	signal(SIGALRM, on_alarm);
	alarm(seconds);
}

/* A return code the header documents for call, or the case fails. */
static int expect_doc(enum vidmm_call call, int ret, const char *what)
{
	if (!contract_errno_ok(call, ret))
		fail_msg("%s: %s returned %d (%s), which vidmm.h does not document (it allows %s)",
			 what, contract_call_name(call), ret, vidmm_strerror(ret),
			 contract_errnos(call));
	return ret;
}

static void expect_at(vidmm_t *vm, vidmm_handle_t h, enum vidmm_residency res, int seg,
		      uint64_t addr, const char *what)
{
	struct vidmm_alloc_info i = vt_info(vm, h);
	if (i.residency != res || (res == VIDMM_RESIDENT &&
				   ((int)i.segment != seg || i.gpu_addr != addr)))
		fail_msg("%s: residency %d in segment %d at 0x%" PRIx64 ", expected %d in %d at 0x%" PRIx64,
			 what, (int)i.residency, (int)i.segment, i.gpu_addr, (int)res, seg, addr);
}

/*
 * Fill segment seg with idle pagable allocations of size sz (as many as fit,
 * at most max, into out) and the rest with one unpagable filler, so that any
 * new placement there must page one of them out.
 */
static int fill_segment(struct vt_env *e, int seg, uint64_t sz, vidmm_handle_t *out, int max)
{
	int n = 0;

	while (n < max && vt_stats(e->vm).seg[seg].free >= sz)
		out[n++] = vt_must_create(e->vm, seg, sz, VIDMM_PRIO_NORMAL, 0);
	uint64_t left = vt_stats(e->vm).seg[seg].free;
	if (left)
		vt_must_create(e->vm, seg, left, VIDMM_PRIO_MAX, VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	return n;
}

static vidmm_handle_t create_pref(vidmm_t *vm, uint64_t size, uint32_t flags, int n,
				  const int *segs)
{
	struct vidmm_alloc_desc d = { .size = size, .priority = VIDMM_PRIO_NORMAL, .flags = flags };
	vidmm_handle_t h = 0;

	d.n_preferred = (uint32_t)n;
	for (int i = 0; i < n; i++)
		d.preferred[i] = (uint32_t)segs[i];
	int ret = vidmm_create_allocation(vm, &d, &h);
	if (ret)
		fail_msg("create %" PRIu64 " bytes: %s", size, vidmm_strerror(ret));
	return h;
}

/* ---- CONCURRENT-PAGE-IN ---------------------------------------------------------------- */

/*
 * Two threads use the same paged-out allocation at once while making room
 * for it means paging others out (so the manager drops its lock in the
 * middle). It must be paged in once, hold its data, and every list must
 * stay intact (a double page-in made vm->inflight a cycle: vidmm_check then
 * never returned).
 */
struct duo {
	vidmm_t *vm;
	vidmm_handle_t h;
	uint64_t seed;
	bool use_lock;        /* this side locks instead of submitting */
	pthread_barrier_t *go, *done;
	int rounds;
	int ret;
	uint64_t bad;
	uint64_t fails;
};

static void *duo_main(void *arg)
{
	struct duo *d = arg;

	for (int r = 0; r < d->rounds; r++) {
		pthread_barrier_wait(d->go);
		if (d->use_lock) {
			void *cpu = NULL;
			d->ret = vidmm_lock(d->vm, d->h, &cpu);
			if (!d->ret) {
				d->bad += vt_cpu_mismatches(cpu, 4 * MIB, d->seed);
				vidmm_unlock(d->vm, d->h);
			}
		} else {
			uint64_t bad = UINT64_MAX;
			d->ret = vt_job(d->vm, VIDMM_JOB_VERIFY, d->seed, d->h, &bad);
			if (!d->ret)
				d->bad += bad;
		}
		if (d->ret)
			d->fails++;
		pthread_barrier_wait(d->done);
	}
	return NULL;
}

static void race_page_in(struct vt_env *e, vidmm_handle_t x, uint64_t seed, bool lock_one,
			 int rounds, const char *what)
{
	pthread_barrier_t go, done;
	struct duo d[2];
	pthread_t th[2];

	pthread_barrier_init(&go, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	for (int i = 0; i < 2; i++) {
		d[i] = (struct duo){ .vm = e->vm, .h = x, .seed = seed, .go = &go, .done = &done,
				     .rounds = rounds, .use_lock = lock_one && i == 0 };
		assert_int_equal(pthread_create(&th[i], NULL, duo_main, &d[i]), 0);
	}
	uint64_t ins0 = vt_stats(e->vm).page_ins;
	for (int r = 0; r < rounds; r++) {
		int ret = vidmm_evict(e->vm, x);
		if (ret)
			fail_msg("%s, round %d: evict: %s", what, r, vidmm_strerror(ret));
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		for (int i = 0; i < 2; i++)
			expect_doc(d[i].use_lock ? CALL_LOCK : CALL_SUBMIT, d[i].ret, what);
		vt_check(e->vm, what);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	struct vidmm_stats st = vt_stats(e->vm);
	printf("%s: %d rounds, %" PRIu64 " page-ins (+migrations %" PRIu64 "), failures %" PRIu64
	       "/%" PRIu64 ", mismatched words %" PRIu64 "\n", what, rounds, st.page_ins - ins0,
	       st.migrations, d[0].fails, d[1].fails, d[0].bad + d[1].bad);
	if (d[0].bad || d[1].bad)
		fail_msg("%s: %" PRIu64 " mismatched words", what, d[0].bad + d[1].bad);
	/* Each round pages it in once at most (a lock may also migrate it). */
	assert_true(st.page_ins - ins0 <= (uint64_t)rounds);
	assert_true(d[0].fails + d[1].fails < (uint64_t)rounds);
	pthread_barrier_destroy(&go);
	pthread_barrier_destroy(&done);
}

static void concurrent_page_in(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	vidmm_handle_t fill[16];
	const int rounds = VT_SANITIZED ? 60 : 200;

	(void)state;
	watchdog(240);
	/* x lives in local-invisible only; y may also go to local-visible (so
	 * it can be locked). Both segments are full of idle allocations. */
	vidmm_handle_t x = vt_must_create(e->vm, e->local_invis, 4 * MIB, VIDMM_PRIO_NORMAL, 0);
	int lv[2] = { e->local_invis, e->local_vis };
	vidmm_handle_t y = create_pref(e->vm, 4 * MIB, 0, 2, lv);
	vt_must_fill(e->vm, x, 11);
	vt_must_fill(e->vm, y, 22);
	fill_segment(e, e->local_invis, 4 * MIB, fill, 16);
	fill_segment(e, e->local_vis, 1 * MIB, fill, 16);
	vt_check(e->vm, "set up");

	race_page_in(e, x, 11, false, rounds, "two VERIFY jobs on one paged-out allocation");
	race_page_in(e, y, 22, true, rounds, "a lock and a VERIFY job on one paged-out allocation");
	vt_check(e->vm, "at the end");
	alarm(0);
	vt_env_down(e);
}

/* ---- LOCK-VS-SUBMIT ------------------------------------------------------------------- */

/*
 * A lock of an allocation resident where the CPU cannot see it first waits
 * for its GPU work (here a job whose fence comes 50 ms late), then moves it.
 * Another thread writes it (FILL) while the lock waits, and reads it back
 * (VERIFY). The write must run before the move or after it, never during
 * it: a job queued in that window writes a range that is being vacated, and
 * its data is lost.
 */
struct writer {
	vidmm_t *vm;
	struct emu *emu;
	uint32_t job_engine;
	vidmm_handle_t h, other;
	uint64_t seed;
	int fill_ret, verify_ret;
	uint64_t bad;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct vidmm_job j = { .op = VIDMM_JOB_FILL, .seed = w->seed, .nrefs = 1,
			       .refs = { { w->h, VIDMM_ACCESS_WRITE } } };

	usleep(10000); /* the lock is waiting for the slow job by now */
	/* Another slow job first, on something else: the FILL then runs well
	 * after the lock stopped waiting, whatever it did meanwhile. */
	emu_inject_fence_delay(w->emu, w->job_engine, 20 * MS, 1);
	platform_job1(w->vm, VIDMM_JOB_TOUCH, 0, w->other, NULL, 0, NULL);
	w->fill_ret = vidmm_submit(w->vm, &j, NULL);
	/* Not waited for: the VERIFY is ordered behind it on the job engine. */
	w->bad = UINT64_MAX;
	w->verify_ret = vt_job(w->vm, VIDMM_JOB_VERIFY, w->seed, w->h, &w->bad);
	return NULL;
}

static void lock_vs_submit(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	const uint64_t sz = 4 * MIB;
	const int rounds = 20;
	uint64_t lost = 0;
	int lv[2];

	(void)state;
	watchdog(240);
	lv[0] = e->local_invis;
	lv[1] = e->local_vis;
	vidmm_handle_t x = create_pref(e->vm, sz, 0, 2, lv);
	vidmm_handle_t z = vt_must_create(e->vm, e->local_invis, 64 * KIB, VIDMM_PRIO_NORMAL, 0);
	for (int r = 0; r < rounds; r++) {
		struct writer w = { .vm = e->vm, .emu = e->emu, .job_engine = e->job_engine,
				    .h = x, .other = z, .seed = 1000 + (uint64_t)r };
		struct vidmm_fence f;
		pthread_t th;
		void *cpu = NULL;

		/* x resident in local-invisible memory, with a slow job on it. */
		assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
		assert_int_equal(vidmm_evict(e->vm, x), 0);
		assert_int_equal(platform_job1(e->vm, VIDMM_JOB_TOUCH, 0, x, NULL, VT_WAIT_NS, NULL), 0);
		assert_int_equal(vt_info(e->vm, x).segment, (uint32_t)e->local_invis);
		assert_int_equal(emu_inject_fence_delay(e->emu, e->job_engine, 50 * MS, 1), 0);
		assert_int_equal(platform_job1(e->vm, VIDMM_JOB_TOUCH, 0, x, NULL, 0, &f), 0);

		assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
		int ret = vidmm_lock(e->vm, x, &cpu);
		if (ret)
			fail_msg("round %d: lock: %s", r, vidmm_strerror(ret));
		assert_int_equal(vidmm_unlock(e->vm, x), 0);
		pthread_join(th, NULL);
		expect_doc(CALL_SUBMIT, w.fill_ret, "FILL during the lock");
		expect_doc(CALL_SUBMIT, w.verify_ret, "VERIFY after it");
		assert_int_equal(w.fill_ret, 0);
		assert_int_equal(w.verify_ret, 0);
		/* Read back once more, wherever x lives now: a job queued on the
		 * old range would have been read back from the old range too. */
		uint64_t bad2 = vt_must_verify(e->vm, x, w.seed);
		if (w.bad || bad2)
			printf("round %d: %" PRIu64 " / %" PRIu64 " words of the FILL lost\n", r, w.bad,
			       bad2);
		lost += w.bad + bad2;
		vt_check(e->vm, "after a round");
	}
	struct vidmm_stats st = vt_stats(e->vm);
	printf("%d locks that moved the allocation while a write was queued: %" PRIu64
	       " migrations, %" PRIu64 " words lost\n", rounds, st.migrations, lost);
	if (lost)
		fail_msg("%" PRIu64 " words written by jobs were lost while locks moved the allocation",
			 lost);
	alarm(0);
	vt_env_down(e);
}

/* ---- NO-BLOCK-UNDER-LOCK -------------------------------------------------------------- */

/*
 * One client floods the job engine (each job's fence arrives 20 ms late, so
 * the 64-entry ring fills); another asks for statistics meanwhile. A chip op
 * that blocks with the manager's lock held would stall the second client
 * for as long as the ring takes to drain (about 32 x 20 ms).
 */
struct flood {
	vidmm_t *vm;
	vidmm_handle_t h;
	int jobs, ok;
	int bad_ret;
	atomic_bool done;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;

	for (int i = 0; i < f->jobs; i++) {
		struct vidmm_job j = { .op = VIDMM_JOB_TOUCH, .nrefs = 1,
				       .refs = { { f->h, VIDMM_ACCESS_READ } } };
		int ret = vidmm_submit(f->vm, &j, NULL);
		if (!contract_errno_ok(CALL_SUBMIT, ret))
			f->bad_ret = ret;
		f->ok += ret == 0;
	}
	atomic_store(&f->done, true);
	return NULL;
}

static void no_block_under_lock(void **state)
{
	const uint64_t delay = 20 * MS;
	struct vt_env_opts o = { .fence_timeout_ns = 5 * SEC };
	struct vt_env *e = vt_env_up(&o);
	struct flood f = { .vm = e->vm, .jobs = 100 };
	pthread_t th;
	uint64_t worst = 0, queries = 0;

	(void)state;
	watchdog(120);
	f.h = vt_must_create(e->vm, e->local_invis, 64 * KIB, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	assert_int_equal(emu_inject_fence_delay(e->emu, e->job_engine, delay, (uint32_t)f.jobs), 0);
	assert_int_equal(pthread_create(&th, NULL, flood_main, &f), 0);
	while (!atomic_load(&f.done)) {
		struct vidmm_stats st;
		uint64_t t0 = vt_now_ns();
		assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
		uint64_t took = vt_now_ns() - t0;
		if (took > worst)
			worst = took;
		queries++;
		usleep(200);
	}
	pthread_join(th, NULL);
	struct vidmm_stats st = vt_stats(e->vm);
	printf("flood of %d jobs with %" PRIu64 " ms fences: %d submitted, %" PRIu64
	       " full-ring waits; %" PRIu64 " stats queries meanwhile, the slowest %.3f ms\n",
	       f.jobs, delay / MS, f.ok, st.ring_full_waits, queries, (double)worst / 1e6);
	if (f.bad_ret)
		fail_msg("submit returned %d (%s), not documented", f.bad_ret, vidmm_strerror(f.bad_ret));
	assert_int_equal(f.ok, f.jobs);
	/* A blocked submit would have held the lock for about 32 fences
	 * (640 ms); a query never waits for a fence. The bound leaves room for
	 * a loaded machine and a sanitizer, and none for a fence wait. */
	if (worst >= 10 * delay)
		fail_msg("a stats query waited %.1f ms while another client's submit waited for "
			 "ring space", (double)worst / 1e6);
	/* The ring did fill, and the submitter waited for it with the lock
	 * dropped. */
	assert_true(st.ring_full_waits > 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, "at the end");
	alarm(0);
	vt_env_down(e);
}

/* ---- LATE-COPY-AFTER-TIMEOUT ------------------------------------------------------------ */

/*
 * Three threads on private allocations (2x local memory between them) with
 * a 2 ms fence timeout: paging copies routinely outlive the wait for them,
 * and an injector makes some start late on purpose. Whatever a timed-out
 * copy may still write (its window, the staging area, its target range, the
 * frames of its page-out) must not be reused before it has finished: every
 * VERIFY must find exactly the last FILL's pattern.
 */
struct late {
	vidmm_t *vm;
	struct vt_env *e;
	uint64_t seed;
	int idx;
	atomic_bool *stop;
	pthread_barrier_t *created;
	uint64_t ops, bad, fails, bad_ret;
};

/* 2x local memory between three threads. Under a sanitizer copies are ~10x
 * slower: smaller allocations keep each copy well inside the timeout. */
#define LATE_N (VT_SANITIZED ? 48 : 12)
#define LATE_UNIT (VT_SANITIZED ? 256 * KIB : 1 * MIB)

static void *late_main(void *arg)
{
	struct late *l = arg;
	struct vt_rng r;
	vidmm_handle_t h[48];
	uint64_t seed[48];
	int n = 0;

	vt_rng_seed(&r, l->seed);
	/* About 2/3 of local memory each (local memory only): 2x between three
	 * threads. With a
	 * 2 ms fence timeout, a create that must wait for busy victims (the
	 * other threads' new allocations are busy until cleared) may give up
	 * with -EBUSY: try again. */
	for (int tries = 0; n < LATE_N && tries < 2000; tries++) {
		uint64_t sz = (1 + vt_rng_below(&r, 6)) * LATE_UNIT;
		struct vidmm_alloc_desc d = { .size = sz, .priority = VIDMM_PRIO_NORMAL, .n_preferred = 2,
					      .preferred = { (uint32_t)l->e->local_invis,
							     (uint32_t)l->e->local_vis } };
		int ret = vidmm_create_allocation(l->vm, &d, &h[n]);
		if (!contract_errno_ok(CALL_CREATE, ret))
			l->bad_ret = (uint64_t)(-ret);
		if (ret) {
			/* Victims still being cleared: let the copy engine catch up. */
			vidmm_wait_idle(l->vm, VT_WAIT_NS);
			continue;
		}
		seed[n++] = 0;
	}
	/* Everybody's allocations exist before anybody keeps them busy. */
	pthread_barrier_wait(l->created);
	while (n && !atomic_load(l->stop)) {
		int i = (int)vt_rng_below(&r, (uint64_t)n);
		int ret;
		if (!seed[i] || vt_rng_below(&r, 3) == 0) {
			uint64_t s = vt_rng_next(&r) | 1;
			ret = vt_job(l->vm, VIDMM_JOB_FILL, s, h[i], NULL);
			if (!ret)
				seed[i] = s;
		} else {
			uint64_t bad = UINT64_MAX;
			ret = vt_job(l->vm, VIDMM_JOB_VERIFY, seed[i], h[i], &bad);
			if (!ret && bad) {
				l->bad += bad;
				printf("thread %d: %" PRIu64 " bad words in allocation %d (seed %" PRIu64 ")\n",
				       l->idx, bad, i, seed[i]);
			}
		}
		if (!contract_errno_ok(CALL_SUBMIT, ret))
			l->bad_ret = (uint64_t)(-ret);
		if (ret == -EIO)
			seed[i] = 0; /* a failed FILL may have left it half written: unknown */
		l->fails += ret != 0;
		l->ops++;
	}
	for (int i = 0; i < n; i++)
		vidmm_destroy_allocation(l->vm, h[i]);
	return NULL;
}

/* 2 ms as the issue measured; a sanitizer makes copies ~10x slower, and a
 * timeout shorter than any copy would only ever time out. */
#define LATE_TIMEOUT (VT_SANITIZED ? 25 * MS : 2 * MS)

static void late_copy_run(enum vidmm_paging_mode mode, uint64_t seed, uint64_t secs)
{
	struct vt_env_opts o = { .fence_timeout_ns = LATE_TIMEOUT, .mode = mode };
	struct vt_env *e = vt_env_up(&o);
	struct late l[3];
	pthread_t th[3];
	atomic_bool stop = false;
	uint64_t peak_q = 0;
	struct vt_rng r;
	pthread_barrier_t created;

	vt_rng_seed(&r, seed);
	/* The main thread too: the run's clock starts once all exist. */
	pthread_barrier_init(&created, NULL, 4);
	for (int i = 0; i < 3; i++) {
		l[i] = (struct late){ .vm = e->vm, .e = e, .seed = seed + (uint64_t)i, .idx = i,
				      .stop = &stop, .created = &created };
		assert_int_equal(pthread_create(&th[i], NULL, late_main, &l[i]), 0);
	}
	pthread_barrier_wait(&created);
	uint64_t end = vt_now_ns() + secs * SEC;
	while (vt_now_ns() < end) {
		/* Now and then a copy starts late on purpose: 1.5-5 timeouts,
		 * longer than the manager waits for it. */
		uint32_t ce = (uint32_t)vt_rng_below(&r, e->eng.n_copy);
		emu_inject_start_delay(e->emu, ce, (3 + vt_rng_below(&r, 8)) * LATE_TIMEOUT / 2, 1);
		usleep(VT_SANITIZED ? 100000 : 20000);
		struct vidmm_stats st = vt_stats(e->vm);
		if (st.quarantined_bytes > peak_q)
			peak_q = st.quarantined_bytes;
		if (vt_rng_below(&r, 8) == 0)
			vt_check(e->vm, "during the run");
	}
	atomic_store(&stop, true);
	uint64_t ops = 0, bad = 0, fails = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ops += l[i].ops;
		bad += l[i].bad;
		fails += l[i].fails;
		if (l[i].bad_ret)
			fail_msg("submit returned -%" PRIu64 " (%s), not documented", l[i].bad_ret,
				 vidmm_strerror(-(int)l[i].bad_ret));
	}
	pthread_barrier_destroy(&created);
	struct vidmm_stats st = vt_stats(e->vm);
	for (int i = 0; i < 3; i++)
		if (!l[i].ops)
			fail_msg("thread %d could not create its allocations", i);
	printf("%s mode, %" PRIu64 " ms fence timeout, %" PRIu64 " s: %" PRIu64 " jobs (%" PRIu64
	       " refused), %" PRIu64 " copy timeouts, quarantine peak %" PRIu64 " KiB, %" PRIu64
	       " page-ins, %" PRIu64 " mismatched words\n", mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
	       (uint64_t)(LATE_TIMEOUT / MS), secs, ops, fails, st.copy_timeouts, peak_q / KIB, st.page_ins, bad);
	if (bad)
		fail_msg("%" PRIu64 " words overwritten by copies that ran after the manager stopped "
			 "waiting for them", bad);
	/* The case is only worth something if copies did time out. */
	assert_true(st.copy_timeouts > 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, "after the run");
	st = vt_stats(e->vm);
	assert_int_equal(st.quarantined_bytes, 0);
	vt_env_down(e);
}

static void late_copy_after_timeout(void **state)
{
	uint64_t seed = vt_seed("LATE-COPY-AFTER-TIMEOUT");
	uint64_t secs = VT_SANITIZED ? 8 : 6;

	(void)state;
	watchdog(300);
	late_copy_run(VIDMM_PAGING_WINDOW, seed, secs);
	late_copy_run(VIDMM_PAGING_BOUNCE, seed ^ 0x5eed, secs);
	alarm(0);
}

/* ---- DESTROY-WHILE-LOCKED ------------------------------------------------------------------ */

static void destroy_while_locked(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	const uint64_t sz = 512 * KIB;
	void *cpu = NULL, *cpu2 = NULL;

	(void)state;
	vidmm_handle_t a = vt_must_create(e->vm, e->local_vis, sz, VIDMM_PRIO_NORMAL, 0);
	struct vidmm_alloc_info ia = vt_info(e->vm, a);
	assert_int_equal(vidmm_lock(e->vm, a, &cpu), 0);
	assert_int_equal(vidmm_lock(e->vm, a, &cpu2), 0);
	assert_ptr_equal(cpu, cpu2);
	/* Refused while the CPU may still write through the pointer; nothing
	 * changes. */
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), -EBUSY);
	vt_check(e->vm, "after the refused destroy");
	expect_at(e->vm, a, VIDMM_RESIDENT, (int)ia.segment, ia.gpu_addr, "a, still locked");
	vt_cpu_fill(cpu, sz, 5);
	assert_int_equal(vidmm_unlock(e->vm, a), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), -EBUSY); /* one lock left */
	assert_int_equal(vidmm_unlock(e->vm, a), 0);
	assert_int_equal(vt_must_verify(e->vm, a, 5), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), 0);
	assert_int_equal(vidmm_unlock(e->vm, a), -EBADF);
	/* Whoever gets the range next owns it alone. */
	vidmm_handle_t b = vt_must_create(e->vm, e->local_vis, sz, VIDMM_PRIO_NORMAL, 0);
	vt_must_fill(e->vm, b, 6);
	assert_int_equal(vt_must_verify(e->vm, b, 6), 0);
	vt_check(e->vm, "at the end");

	/* Racing: one thread locks and writes, another destroys. Every destroy
	 * is refused while locked, or wins and then the lock fails with -EBADF. */
	for (int round = 0; round < 50; round++) {
		vidmm_handle_t c = vt_must_create(e->vm, -1, sz, VIDMM_PRIO_NORMAL, VIDMM_ALLOC_CPU_VISIBLE);
		int lret = vidmm_lock(e->vm, c, &cpu);
		int dret = vidmm_destroy_allocation(e->vm, c);
		if (lret == 0) {
			assert_int_equal(dret, -EBUSY);
			vt_cpu_fill(cpu, sz, 7);
			assert_int_equal(vidmm_unlock(e->vm, c), 0);
			assert_int_equal(vidmm_destroy_allocation(e->vm, c), 0);
		} else {
			expect_doc(CALL_LOCK, lret, "lock");
		}
	}
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, "after the races");
	vt_env_down(e);
}

/* ---- CLEAR-ON-CREATE ---------------------------------------------------------------------- */

static uint64_t zero_checksum(uint64_t size, uint64_t seed)
{
	void *z = calloc(1, size);
	assert_non_null(z);
	uint64_t c = XXH3_64bits_withSeed(z, size, seed);
	free(z);
	return c;
}

/* Fill a, destroy it, create b of the same size in the same segment (the
 * same range): b must read as zeros, on the GPU and through the CPU. */
static void clear_case(struct vt_env *e, int seg, bool clear, const char *what)
{
	const uint64_t sz = 1 * MIB;
	uint64_t sum = 0, bad = 0;
	void *cpu = NULL;

	vidmm_handle_t a = vt_must_create(e->vm, seg, sz, VIDMM_PRIO_NORMAL, 0);
	uint64_t addr = vt_info(e->vm, a).gpu_addr;
	vt_must_fill(e->vm, a, 31);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), 0);
	uint64_t c0 = vt_stats(e->vm).cleared_bytes;
	vidmm_handle_t b = vt_must_create(e->vm, seg, sz, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(vt_info(e->vm, b).gpu_addr, addr);
	assert_int_equal(vt_job(e->vm, VIDMM_JOB_VERIFY, 31, b, &bad), 0);
	assert_int_equal(vt_job(e->vm, VIDMM_JOB_CHECKSUM, 9, b, &sum), 0);
	uint64_t c1 = vt_stats(e->vm).cleared_bytes;
	printf("%s: the previous owner's pattern in %" PRIu64 " of %" PRIu64 " words; zero checksum %s; "
	       "%" PRIu64 " bytes cleared\n", what, sz / 8 - bad, sz / 8,
	       sum == zero_checksum(sz, 9) ? "yes" : "no", c1 - c0);
	if (!clear) {
		/* The switch really turns it off (what benchmarks measure). */
		assert_int_equal(bad, 0);
		assert_int_equal(c1, c0);
	} else {
		if (bad != sz / 8)
			fail_msg("%s: a new allocation shows %" PRIu64 " words of its range's previous "
				 "owner", what, sz / 8 - bad);
		assert_int_equal(sum, zero_checksum(sz, 9));
		assert_int_equal(c1 - c0, sz);
		if (vt_info(e->vm, b).segment == (uint32_t)e->local_vis ||
		    vt_info(e->vm, b).segment == (uint32_t)e->pcie_snoop) {
			assert_int_equal(vidmm_lock(e->vm, b, &cpu), 0);
			for (uint64_t i = 0; i < sz / 8; i++)
				if (((uint64_t *)cpu)[i])
					fail_msg("%s: byte %" PRIu64 " read by the CPU is not zero", what, i * 8);
			assert_int_equal(vidmm_unlock(e->vm, b), 0);
		}
	}
	assert_int_equal(vidmm_destroy_allocation(e->vm, b), 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, what);
}

static void clear_on_create(void **state)
{
	(void)state;
	struct vt_env *e = vt_env_up(NULL);
	clear_case(e, e->local_invis, true, "local-invisible");
	clear_case(e, e->local_vis, true, "local-visible");
	clear_case(e, e->pcie_snoop, true, "PCIe (snooped)");
	clear_case(e, e->pcie_unsnoop, true, "PCIe (unsnooped)");

	/* A clear the copy engine fails is issued again: still zeros. */
	vidmm_handle_t a = vt_must_create(e->vm, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	vt_must_fill(e->vm, a, 41);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	uint64_t addr = vt_info(e->vm, a).gpu_addr;
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), 0);
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_copy_failure(e->emu, i, 1), 0);
	uint64_t r0 = vt_stats(e->vm).clear_retries, bad = 0;
	vidmm_handle_t b = vt_must_create(e->vm, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(vt_info(e->vm, b).gpu_addr, addr);
	assert_int_equal(vt_job(e->vm, VIDMM_JOB_VERIFY, 41, b, &bad), 0);
	printf("after a failed clear: %" PRIu64 " retries, %" PRIu64 " words of the old owner\n",
	       vt_stats(e->vm).clear_retries - r0, MIB / 8 - bad);
	assert_int_equal(bad, MIB / 8);
	assert_true(vt_stats(e->vm).clear_retries > r0);
	vt_check(e->vm, "after a failed clear");
	vt_env_down(e);

	/* Clearing can be turned off for benchmarks; it is on by default. */
	struct vt_env_opts o = { .no_clear = true };
	e = vt_env_up(&o);
	clear_case(e, e->local_invis, false, "local-invisible, clearing off");
	vt_env_down(e);
}

/* ---- UNPAGABLE-STAYS-PUT ------------------------------------------------------------------- */

static void unpagable_stays_put(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	void *cpu = NULL;

	(void)state;
	/* No preference: local-invisible first, where the CPU cannot see it. */
	vidmm_handle_t u = vt_must_create(e->vm, -1, 1 * MIB, VIDMM_PRIO_NORMAL, VIDMM_ALLOC_UNPAGABLE);
	struct vidmm_alloc_info iu = vt_info(e->vm, u);
	assert_int_equal(iu.segment, (uint32_t)e->local_invis);
	vt_must_fill(e->vm, u, 51);
	uint64_t outs = vt_stats(e->vm).page_outs;
	/* A lock would have to move it: refused up front. */
	assert_int_equal(vidmm_lock(e->vm, u, &cpu), -EINVAL);
	expect_at(e->vm, u, VIDMM_RESIDENT, (int)iu.segment, iu.gpu_addr, "unpagable after lock");
	assert_int_equal(vidmm_swap_out(e->vm, u), -EBUSY);
	assert_int_equal(vidmm_evict(e->vm, u), -EBUSY);
	expect_at(e->vm, u, VIDMM_RESIDENT, (int)iu.segment, iu.gpu_addr, "unpagable after evict");
	assert_int_equal(vidmm_query_swapped(e->vm, NULL, 0, &(uint32_t){ 0 }), 0);
	assert_int_equal(vt_stats(e->vm).page_outs, outs);
	assert_int_equal(vt_stats(e->vm).swapped_allocations, 0);
	assert_int_equal(vt_must_verify(e->vm, u, 51), 0);

	/* One that lives where the CPU sees it locks in place. */
	vidmm_handle_t v = vt_must_create(e->vm, e->local_vis, 1 * MIB, VIDMM_PRIO_NORMAL,
					  VIDMM_ALLOC_UNPAGABLE);
	struct vidmm_alloc_info iv = vt_info(e->vm, v);
	assert_int_equal(vidmm_lock(e->vm, v, &cpu), 0);
	assert_int_equal(vidmm_unlock(e->vm, v), 0);
	expect_at(e->vm, v, VIDMM_RESIDENT, (int)iv.segment, iv.gpu_addr, "visible unpagable");
	vt_check(e->vm, "at the end");
	vt_env_down(e);
}

/* ---- FAILED-CALL-CHANGES-NOTHING ------------------------------------------------------------- */

static void failed_call_changes_nothing(void **state)
{
	struct vt_env_opts o = { .swap = 4 * MIB, .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	vidmm_handle_t fill[32];
	void *cpu = NULL;

	(void)state;
	/* x in local-invisible; it may go to local-visible or PCIe for a lock. */
	int segs[3] = { e->local_invis, e->local_vis, e->pcie_snoop };
	vidmm_handle_t x = create_pref(e->vm, 2 * MIB, 0, 3, segs);
	vt_must_fill(e->vm, x, 61);
	struct vidmm_alloc_info ix = vt_info(e->vm, x);
	assert_int_equal(ix.segment, (uint32_t)e->local_invis);

	/* Every CPU-visible place x could go is full of what cannot move. */
	vidmm_handle_t pin[8];
	int np = 0;
	for (int s = 0; s < 2; s++) {
		int seg = s ? e->pcie_snoop : e->local_vis;
		uint64_t left = vt_stats(e->vm).seg[seg].free;
		if (left)
			pin[np++] = vt_must_create(e->vm, seg, left, VIDMM_PRIO_MAX, VIDMM_ALLOC_UNPAGABLE);
	}
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, "set up");

	/* 1. A lock that finds no room fails, and x is where it was. */
	int ret = expect_doc(CALL_LOCK, vidmm_lock(e->vm, x, &cpu), "lock with no room");
	assert_true(ret == -ENOSPC || ret == -EBUSY);
	expect_at(e->vm, x, VIDMM_RESIDENT, (int)ix.segment, ix.gpu_addr, "x after a failed lock");
	assert_int_equal(vt_must_verify(e->vm, x, 61), 0);
	vt_check(e->vm, "after the failed lock");

	/* 2. A lock of what can never be CPU-visible: -EINVAL, nothing moves. */
	vidmm_handle_t inv = vt_must_create(e->vm, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	struct vidmm_alloc_info ii = vt_info(e->vm, inv);
	uint64_t outs = vt_stats(e->vm).page_outs;
	assert_int_equal(vidmm_lock(e->vm, inv, &cpu), -EINVAL);
	expect_at(e->vm, inv, VIDMM_RESIDENT, (int)ii.segment, ii.gpu_addr, "after -EINVAL");
	assert_int_equal(vt_stats(e->vm).page_outs, outs);
	for (int i = 0; i < np; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, pin[i]), 0);

	/* 3. A swap-out whose write fails: still resident in place, intact. */
	assert_int_equal(vidmm_debug_swap_inject(e->vm, true, -EIO, 1000), 0);
	assert_int_equal(vidmm_swap_out(e->vm, x), -EIO);
	expect_at(e->vm, x, VIDMM_RESIDENT, (int)ix.segment, ix.gpu_addr, "x after a failed write");
	assert_int_equal(vidmm_debug_swap_inject(e->vm, true, 0, 0), 0);
	assert_int_equal(vt_must_verify(e->vm, x, 61), 0);
	vt_check(e->vm, "after the failed swap write");

	/* 4. A swap-out with the file full: -ENOSPC, still resident in place. */
	vidmm_handle_t big = vt_must_create(e->vm, e->local_invis, 4 * MIB, VIDMM_PRIO_NORMAL, 0);
	vt_must_fill(e->vm, big, 62);
	assert_int_equal(vidmm_swap_out(e->vm, big), 0); /* the whole file */
	assert_int_equal(vidmm_swap_out(e->vm, x), -ENOSPC);
	expect_at(e->vm, x, VIDMM_RESIDENT, (int)ix.segment, ix.gpu_addr, "x with the file full");
	assert_int_equal(vt_must_verify(e->vm, x, 61), 0);
	assert_int_equal(vt_must_verify(e->vm, big, 62), 0);

	/* 5. An eviction whose copy fails: still resident in place, intact. */
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_copy_failure(e->emu, i, 1), 0);
	assert_int_equal(vidmm_evict(e->vm, x), -EIO);
	expect_at(e->vm, x, VIDMM_RESIDENT, (int)ix.segment, ix.gpu_addr, "x after a failed copy");
	assert_int_equal(vt_must_verify(e->vm, x, 61), 0);

	/* 6. A page-in whose copy fails: the job is refused, x stays paged out
	 * with its data. */
	assert_int_equal(vidmm_evict(e->vm, x), 0);
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_copy_failure(e->emu, i, 1), 0);
	uint64_t bad = 0;
	assert_int_equal(vt_job(e->vm, VIDMM_JOB_VERIFY, 61, x, &bad), -EIO);
	assert_int_equal(vt_info(e->vm, x).residency, VIDMM_EVICTED);
	assert_int_equal(vt_must_verify(e->vm, x, 61), 0);
	(void)fill;
	vt_check(e->vm, "at the end");
	vt_env_down(e);
}

/* ---- ERRNOS-AS-DOCUMENTED ---------------------------------------------------------------- */

static void errnos_as_documented(void **state)
{
	(void)state;
	/* vidmm_init: an unknown paging mode, a missing swap directory. */
	{
		struct vidmm_profile p;
		struct platform pl;
		char err[256];
		assert_int_equal(vidmm_profile_builtin("tiny", &p), 0);
		assert_int_equal(platform_open(&p, "emu", &pl, err, sizeof(err)), 0);
		struct vidmm_config cfg = pl.cfg;
		vidmm_t *vm2 = NULL;
		cfg.paging_mode = (enum vidmm_paging_mode)15;
		vidmm_destroy(pl.vm);
		pl.vm = NULL;
		int ret = vidmm_init(&cfg, &vm2);
		printf("paging_mode 15: %d (%s): %s\n", ret, vidmm_strerror(ret), vidmm_init_error());
		assert_int_equal(ret, -EINVAL);
		cfg = pl.cfg;
		cfg.swap_dir = "/nonexistent/vidmm-swap-dir";
		ret = vidmm_init(&cfg, &vm2);
		printf("missing swap_dir: %d (%s): %s\n", ret, vidmm_strerror(ret), vidmm_init_error());
		expect_doc(CALL_INIT, ret, "a missing swap_dir");
		assert_int_equal(ret, -ENOENT);
		cfg = pl.cfg;
		assert_int_equal(vidmm_init(&cfg, &pl.vm), 0);
		platform_close(&pl);
	}

	/* Long enough for a 2 MiB copy under a sanitizer, short enough that
	 * waits on a hung engine end soon. */
	struct vt_env_opts o = { .fence_timeout_ns = 400 * MS, .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	void *cpu = NULL;
	int ret;

	/* Alignment and size against every allowed segment, not only the
	 * largest: LOCAL_ONLY, 2 MiB-aligned, larger than local-visible. */
	struct vidmm_alloc_desc d = { .size = 20 * MIB, .alignment = 2 * MIB,
				      .priority = VIDMM_PRIO_NORMAL, .flags = VIDMM_ALLOC_LOCAL_ONLY };
	vidmm_handle_t big = 0;
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &big), 0);
	ret = vidmm_lock(e->vm, big, &cpu);
	printf("lock of a 20 MiB LOCAL_ONLY allocation (local-visible is 16 MiB): %d (%s)\n", ret,
	       vidmm_strerror(ret));
	assert_int_equal(ret, -EINVAL); /* documented: it can never be CPU-visible */
	d.size = 2 * MIB;
	vidmm_handle_t al = 0;
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &al), 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	assert_int_equal(expect_doc(CALL_LOCK, vidmm_lock(e->vm, al, &cpu), "2 MiB-aligned lock"), 0);
	assert_int_equal((uintptr_t)vt_info(e->vm, al).gpu_addr % (2 * MIB), 0);
	assert_int_equal(vidmm_unlock(e->vm, al), 0);
	d.alignment = 1ull << 40; /* larger than every segment */
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &al), -EINVAL);

	/* Timeouts surface as documented errnos: a hung copy engine. */
	vidmm_handle_t x = vt_must_create(e->vm, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t y = vt_must_create(e->vm, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	vt_must_fill(e->vm, x, 71);
	vt_must_fill(e->vm, y, 72);
	assert_int_equal(vidmm_evict(e->vm, y), 0);
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_hang(e->emu, i), 0);
	ret = vidmm_evict(e->vm, x);
	printf("evict on a hung copy engine: %d (%s)\n", ret, vidmm_strerror(ret));
	expect_doc(CALL_EVICT, ret, "evict, hung copy engine");
	assert_int_equal(ret, -ETIMEDOUT);
	ret = vidmm_swap_out(e->vm, x);
	printf("swap-out on a hung copy engine: %d (%s)\n", ret, vidmm_strerror(ret));
	expect_doc(CALL_SWAP_OUT, ret, "swap_out, hung copy engine");
	ret = platform_job1(e->vm, VIDMM_JOB_TOUCH, 0, y, NULL, 0, NULL);
	printf("submit needing a page-in on a hung copy engine: %d (%s)\n", ret, vidmm_strerror(ret));
	expect_doc(CALL_SUBMIT, ret, "submit, hung copy engine");
	assert_int_not_equal(ret, 0);
	ret = vt_create(e->vm, -1, 1 * MIB, VIDMM_PRIO_NORMAL, 0, &(vidmm_handle_t){ 0 });
	printf("create while the copy engine (which clears) is hung: %d (%s)\n", ret, vidmm_strerror(ret));
	expect_doc(CALL_CREATE, ret, "create, hung copy engine");
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_reset_engine(e->emu, i), 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, "after the hung copy engine");

	/* Placement that gives up on busy victims: -EBUSY is documented. */
	assert_int_equal(vidmm_destroy_allocation(e->vm, al), 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vidmm_handle_t fill[16];
	int n = fill_segment(e, e->local_vis, 1 * MIB, fill, 16);
	assert_int_equal(emu_inject_hang(e->emu, e->job_engine), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(platform_job1(e->vm, VIDMM_JOB_TOUCH, 0, fill[i], NULL, 0, NULL), 0);
	ret = vt_create(e->vm, e->local_vis, 1 * MIB, VIDMM_PRIO_NORMAL, 0, &(vidmm_handle_t){ 0 });
	printf("create behind busy victims only: %d (%s)\n", ret, vidmm_strerror(ret));
	expect_doc(CALL_CREATE, ret, "create behind busy victims");
	assert_int_equal(ret, -EBUSY);
	ret = vidmm_evict(e->vm, fill[0]);
	assert_int_equal(expect_doc(CALL_EVICT, ret, "evict of a busy one"), -EBUSY);
	assert_int_equal(emu_reset_engine(e->emu, e->job_engine), 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);

	/* Bad arguments everywhere. */
	expect_doc(CALL_SUBMIT, vidmm_submit(e->vm, NULL, NULL), "NULL job");
	expect_doc(CALL_LOCK, vidmm_lock(e->vm, 12345, &cpu), "forged handle");
	expect_doc(CALL_UNLOCK, vidmm_unlock(e->vm, x), "unlock of an unlocked one");
	expect_doc(CALL_EVICT, vidmm_evict(e->vm, 0), "handle 0");
	expect_doc(CALL_WAIT_FENCE, vidmm_wait_fence(e->vm, (struct vidmm_fence){ 99, 1 }, 0), "bad engine");
	expect_doc(CALL_WAIT_IDLE, vidmm_wait_idle(NULL, 0), "NULL vm");
	vt_check(e->vm, "at the end");
	vt_env_down(e);
}

/* ---- the smaller defects ------------------------------------------------------------------------ */

/* A free spot in any allowed segment is used before anything is paged out. */
static void placement_free_first(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	vidmm_handle_t fill[16];

	(void)state;
	fill_segment(e, e->local_invis, 4 * MIB, fill, 16);
	uint64_t outs = vt_stats(e->vm).page_outs;
	vidmm_handle_t h = vt_must_create(e->vm, -1, 4 * MIB, VIDMM_PRIO_NORMAL, 0);
	struct vidmm_alloc_info i = vt_info(e->vm, h);
	printf("with local-invisible full: placed in segment %u, %" PRIu64 " page-outs\n", i.segment,
	       vt_stats(e->vm).page_outs - outs);
	assert_int_not_equal(i.segment, (uint32_t)e->local_invis);
	assert_int_equal(vt_stats(e->vm).page_outs, outs);
	vt_check(e->vm, "at the end");
	vt_env_down(e);
}

/* An access through an invalid translation (here: the MMU switched off,
 * which makes every aperture access one) is one dummy-page fault, not two. */
static void dummy_faults_once(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	struct vidmm_segment_info si[VIDMM_MAX_SEGMENTS];
	uint32_t n = 0;
	uint8_t buf[4096];

	(void)state;
	assert_int_equal(vidmm_query_segments(e->vm, si, VIDMM_MAX_SEGMENTS, &n), 0);
	uint64_t f0 = vt_stats(e->vm).dummy_page_faults;
	/* Four pages nobody mapped: entries naming the dummy page. */
	for (int p = 0; p < 4; p++)
		assert_int_equal(emu_gpu_read(e->emu, si[e->pcie_unsnoop].base + (uint64_t)p * 4096,
					      buf, sizeof(buf)), 0);
	assert_int_equal(vt_stats(e->vm).dummy_page_faults - f0, 4);
	/* Four more through invalid translations. */
	emu_chip_ops.mmio_write32(e->emu, EMU_MMIO_MMU_ENABLE, 0);
	for (int p = 0; p < 4; p++)
		assert_int_equal(emu_gpu_read(e->emu, si[e->pcie_unsnoop].base + (uint64_t)p * 4096,
					      buf, sizeof(buf)), 0);
	emu_chip_ops.mmio_write32(e->emu, EMU_MMIO_MMU_ENABLE, 1);
	uint64_t got = vt_stats(e->vm).dummy_page_faults - f0;
	if (got != 8)
		fail_msg("8 accesses resolved to the dummy page, dummy_page_faults counted %" PRIu64, got);
	vt_env_down(e);
}

/* A forged descriptor is refused before anything is undone: its CPU view
 * is not unmapped (counted through the chip's unmap_local). */
static atomic_uint unmaps;
static void (*real_unmap)(void *ctx, void *cpu, uint64_t size);

static void counting_unmap(void *ctx, void *cpu, uint64_t size)
{
	atomic_fetch_add(&unmaps, 1);
	if (real_unmap)
		real_unmap(ctx, cpu, size);
}

static void release_validates_first(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	struct vidmm_segment_memory m, forged;
	static struct vidmm_chip_ops ops;
	vidmm_t *vm = NULL;

	(void)state;
	/* The same chip, seen through an ops table that counts unmaps. */
	ops = emu_chip_ops;
	real_unmap = emu_chip_ops.unmap_local;
	ops.unmap_local = counting_unmap;
	struct vidmm_config cfg = e->pl.cfg;
	cfg.chip = &ops;
	vidmm_destroy(e->pl.vm);
	e->pl.vm = NULL;
	assert_int_equal(vidmm_init(&cfg, &vm), 0);
	e->pl.vm = e->vm = vm;

	assert_int_equal(vidmm_allocate_segment_memory(vm, (uint32_t)e->local_vis, 64 * KIB, 0, 0, &m), 0);
	assert_non_null(m.cpu);
	forged = m;
	forged.gpu_addr += 4096;
	unsigned u0 = atomic_load(&unmaps);
	assert_int_equal(vidmm_release_segment_memory(vm, &forged), -EINVAL);
	if (atomic_load(&unmaps) != u0)
		fail_msg("a refused release unmapped the CPU view of memory it does not own");
	/* Still mapped and still ours. */
	memset(m.cpu, 0x5a, 64 * KIB);
	assert_int_equal(((uint8_t *)m.cpu)[64 * KIB - 1], 0x5a);
	vt_check(vm, "after the refused release");
	assert_int_equal(vidmm_release_segment_memory(vm, &m), 0);
	assert_int_equal(atomic_load(&unmaps), u0 + 1);
	vt_check(vm, "after the release");
	vt_env_down(e);
}

/* ---- CONCURRENT-CREATE ------------------------------------------------------------------ */

/*
 * A create that must page a victim out drops the lock in the middle of its
 * placement (here for 200 ms: the copy's fence comes late). Meanwhile
 * another thread's create takes the last free entry of the handle table.
 * The first must still publish its handle in an entry of its own (a
 * reservation of "some room in the table", made before placement, did not
 * survive that: the table overflowed).
 */
struct creator {
	vidmm_t *vm;
	int seg;
	vidmm_handle_t h;
	int ret;
};

static void *creator_main(void *arg)
{
	struct creator *c = arg;

	c->ret = vt_create(c->vm, c->seg, 1 * MIB, VIDMM_PRIO_NORMAL, 0, &c->h);
	return NULL;
}

static void concurrent_create(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	vidmm_handle_t fill[16], small[300];
	struct creator c;
	pthread_t th;
	int n = 0;

	(void)state;
	watchdog(120);
	/* local-visible: idle pagable 1 MiB allocations and an unpagable rest. */
	int nf = fill_segment(e, e->local_vis, 1 * MIB, fill, 16);
	/* The handle table (256 entries at first) one short of full. */
	while (nf + 1 + n < 255)
		small[n++] = vt_must_create(e->vm, e->pcie_snoop, 4 * KIB, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	assert_int_equal(vt_stats(e->vm).allocations, (uint64_t)(nf + 1 + n));

	/* The creator's victim copy signals 200 ms late. */
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_fence_delay(e->emu, i, 200 * MS, 1), 0);
	c = (struct creator){ .vm = e->vm, .seg = e->local_vis };
	assert_int_equal(pthread_create(&th, NULL, creator_main, &c), 0);
	usleep(50000);
	/* It is waiting for that copy, lock dropped: take the last entry. */
	vidmm_handle_t last = vt_must_create(e->vm, e->pcie_snoop, 4 * KIB, VIDMM_PRIO_NORMAL, 0);
	pthread_join(th, NULL);
	printf("create behind a late victim copy: %d (%s); %" PRIu64 " live handles\n", c.ret,
	       vidmm_strerror(c.ret), vt_stats(e->vm).allocations);
	assert_int_equal(c.ret, 0);
	assert_int_not_equal(c.h, last);
	vt_check(e->vm, "after the two creates");
	vt_must_fill(e->vm, c.h, 81);
	vt_must_fill(e->vm, last, 82);
	assert_int_equal(vt_must_verify(e->vm, c.h, 81), 0);
	assert_int_equal(vt_must_verify(e->vm, last, 82), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, small[i]), 0);
	assert_int_equal(vidmm_wait_idle(e->vm, VT_WAIT_NS), 0);
	vt_check(e->vm, "at the end");
	alarm(0);
	vt_env_down(e);
}

/* ---- SHARED-STRESS ---------------------------------------------------------------------- */

/*
 * The `shared` workload (workloads/shared.c) through the real vidmm-bench:
 * 4 and 8 threads on one shared set of allocations at 3x local memory on
 * tiny, with --verify, a checker running vidmm_check every few ms, and every
 * return code checked against vidmm.h by the harness. Phases: the default
 * fence timeout, 2 ms, and fault injection (copy failures, late and delayed
 * copies, engine hangs, swap I/O errors and short I/O), each with 4 and 8
 * threads, and two phases with pipelined paging (one with faults).
 * VIDMM_STRESS_SECONDS sets the total (default 60).
 */
struct phase {
	const char *threads;
	const char *fence_ms;      /* NULL: the default */
	const char *inject;        /* NULL: none */
	const char *paging;        /* NULL: sync (the default); "pipelined" */
};

static void stress_phase(const struct phase *ph, uint64_t seed, double secs, const char *dir,
			 int idx, double *ops_per_s)
{
	char seedbuf[32], dur[32], out[512];
	const char *a[32];
	int n = 0;
	struct vt_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	snprintf(seedbuf, sizeof(seedbuf), "%" PRIu64, seed);
	snprintf(dur, sizeof(dur), "%.1f", secs);
	snprintf(out, sizeof(out), "%s/phase%d.json", dir, idx);
	a[n++] = "run";
	a[n++] = "shared";
	a[n++] = "--profile";
	a[n++] = "tiny";
	a[n++] = "--verify";
	a[n++] = "--quiet";
	a[n++] = "--threads";
	a[n++] = ph->threads;
	a[n++] = "--duration";
	a[n++] = dur;
	a[n++] = "--seed";
	a[n++] = seedbuf;
	a[n++] = "--swap-dir";
	a[n++] = dir;
	a[n++] = "--out";
	a[n++] = out;
	if (ph->fence_ms) {
		a[n++] = "--fence-timeout";
		a[n++] = ph->fence_ms;
	}
	if (ph->inject) {
		a[n++] = "--inject";
		a[n++] = ph->inject;
	}
	if (ph->paging) {
		a[n++] = "--paging";
		a[n++] = ph->paging;
	}
	a[n] = NULL;
	vt_run_bench(r, a);

	json_error_t je;
	json_t *d = json_load_file(out, 0, &je);
	json_t *run = d ? json_array_get(json_object_get(d, "runs"), 0) : NULL;
	json_t *m = run ? json_object_get(run, "metrics") : NULL;
	json_t *chk = run ? json_object_get(run, "checks") : NULL;
	if (!m || !chk) {
		vt_show("shared", r);
		fail_msg("phase %d: no results in %s", idx, out);
	}
	double ops = json_number_value(json_object_get(m, "ops"));
	double dur_s = json_number_value(json_object_get(m, "duration_s"));
	double ie = json_number_value(json_object_get(m, "integrity_errors"));
	double jf = json_number_value(json_object_get(m, "job_failures"));
	double undoc = json_number_value(json_object_get(chk, "undocumented_errnos"));
	const char *vc = json_string_value(json_object_get(chk, "vidmm_check"));
	json_t *faults = json_object_get(run, "faults_injected");
	char fbuf[256] = "";
	const char *key;
	json_t *val;
	json_object_foreach(faults, key, val)
		snprintf(fbuf + strlen(fbuf), sizeof(fbuf) - strlen(fbuf), " %s %lld", key,
			 (long long)json_integer_value(val));
	*ops_per_s = dur_s > 0 ? ops / dur_s : 0;
	printf("phase %d: %s threads, %s paging, fence timeout %s, faults %s: %.0f ops in %.1f s (%.0f ops/s), "
	       "%.0f documented job refusals, %.0f integrity errors, %.0f undocumented errnos, "
	       "vidmm_check %s;%s\n", idx, ph->threads, ph->paging ? ph->paging : "sync",
	       ph->fence_ms ? ph->fence_ms : "default",
	       ph->inject ? ph->inject : "none", ops, dur_s, *ops_per_s, jf, ie, undoc, vc ? vc : "?",
	       fbuf[0] ? fbuf : " no faults");
	fflush(stdout);
	if (r->status != 0 || ie != 0 || undoc != 0 || !vc || strcmp(vc, "ok") != 0 || ops <= 0) {
		vt_show("shared", r);
		fail_msg("phase %d failed (exit %d)", idx, r->status);
	}
	if (ph->inject && !json_object_size(faults))
		fail_msg("phase %d: no fault was injected", idx);
	json_decref(d);
	free(r);
}

static void shared_stress(void **state)
{
	static const char *const faults =
		"copy-fail:0.01,late:0.01,fence-delay:0.01,hang:2,swap-write:0.02,swap-read:0.02,"
		"short-io:0.02";
	const struct phase phases[] = {
		{ "4", NULL, NULL, NULL },   { "8", NULL, NULL, NULL },
		{ "4", "2", NULL, NULL },    { "8", "2", NULL, NULL },
		{ "4", NULL, faults, NULL }, { "8", "2", faults, NULL },
		/* Pipelined paging: jobs ordered after page-in copies on the
		 * GPU, failed copies issued again, busy victims paged out
		 * after their jobs. */
		{ "4", NULL, NULL, "pipelined" }, { "8", "2", faults, "pipelined" },
	};
	const int np = (int)(sizeof(phases) / sizeof(phases[0]));
	uint64_t seed = vt_seed("SHARED-STRESS");
	const char *env = getenv("VIDMM_STRESS_SECONDS");
	double total = env && *env ? strtod(env, NULL) : 60.0, best = 0;
	char *dir = vt_mktmpdir("vidmm-shared");

	(void)state;
	if (!(total > 0))
		total = 60.0;
	for (int i = 0; i < np; i++) {
		double ops;
		stress_phase(&phases[i], seed + (uint64_t)i, total / np, dir, i, &ops);
		if (ops > best)
			best = ops;
	}
	printf("SHARED-STRESS: %d phases of %.1f s, seed %" PRIu64 ", all clean\n", np, total / np,
	       seed);
	vt_rmtree(dir);
	free(dir);
}

/* ---- FENCE-ORDER-LOCKED-VS-FAST -------------------------------------------------------- */

/*
 * The locked submit path queues its job under the manager's lock and records
 * the fences under each allocation's reservation afterwards; a fast submit
 * on the same allocation can queue a later job on the same engine in
 * between. The older fence must not overwrite the newer one, or the
 * allocation looks idle while that job still runs (found by review). The
 * hook holds the locked path in exactly that window while another thread
 * fast-submits, its job held back on the engine; then the allocation must
 * still be busy once the locked path's job is done.
 */
struct fence_race {
	vidmm_t *vm;
	struct vt_env *e;
	vidmm_handle_t a;
	_Atomic int phase;   /* 0 wait, 1 go (hook reached), 2 fast submit done */
	struct vidmm_fence f;
	int ret;
};

static void fence_race_hook(void *arg)
{
	struct fence_race *r = arg;
	int expect = 0;

	/* Once, on the locked submit's thread, the manager's lock held: let
	 * the fast submitter go and wait (bounded) until it has queued. */
	if (!atomic_compare_exchange_strong(&r->phase, &expect, 1))
		return;
	uint64_t deadline = vt_now_ns() + 10 * SEC;
	while (atomic_load(&r->phase) != 2 && vt_now_ns() < deadline) {
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void *fence_race_fast(void *arg)
{
	struct fence_race *r = arg;
	struct vidmm_job j = { .op = VIDMM_JOB_TOUCH, .nrefs = 1 };

	j.refs[0] = (struct vidmm_job_ref){ r->a, VIDMM_ACCESS_READ };
	uint64_t deadline = vt_now_ns() + VT_WAIT_NS;
	while (atomic_load(&r->phase) == 0) {
		if (vt_now_ns() > deadline) { /* the locked submit never got there */
			r->ret = -ETIMEDOUT;
			return NULL;
		}
		sched_yield();
	}
	/* Its job starts late: it is still running when the locked one is done. */
	emu_inject_start_delay(r->e->emu, r->e->job_engine, 500 * MS, 1);
	r->ret = vidmm_submit(r->vm, &j, &r->f);
	atomic_store(&r->phase, 2);
	return NULL;
}

static void fence_order_locked_vs_fast(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	struct fence_race r = { .vm = e->vm, .e = e };
	struct vidmm_job j = { .op = VIDMM_JOB_TOUCH, .nrefs = 2 };
	struct vidmm_fence fl;
	pthread_t t;

	(void)state;
	if (!e->emu) {
		vt_env_down(e);
		VT_SKIP("FENCE-ORDER-LOCKED-VS-FAST: needs the emulator's start-delay injection");
	}
	r.a = vt_must_create(e->vm, e->local_invis, 64 * KIB, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t b = vt_must_create(e->vm, e->local_invis, 64 * KIB, VIDMM_PRIO_NORMAL, 0);
	vt_must_fill(e->vm, r.a, 1);
	vt_must_fill(e->vm, b, 2);
	/* b paged out: a job on a and b takes the locked path (it pages b in). */
	assert_int_equal(vidmm_evict(e->vm, b), 0);
	uint64_t fast0 = vt_stats(e->vm).fast_submits;
	assert_int_equal(vidmm_debug_locked_submit_hook(e->vm, fence_race_hook, &r), 0);
	assert_int_equal(pthread_create(&t, NULL, fence_race_fast, &r), 0);
	j.refs[0] = (struct vidmm_job_ref){ r.a, VIDMM_ACCESS_READ };
	j.refs[1] = (struct vidmm_job_ref){ b, VIDMM_ACCESS_READ };
	assert_int_equal(vidmm_submit(e->vm, &j, &fl), 0);
	pthread_join(t, NULL);
	assert_int_equal(vidmm_debug_locked_submit_hook(e->vm, NULL, NULL), 0);
	assert_int_equal(atomic_load(&r.phase), 2);
	assert_int_equal(r.ret, 0);
	/* The other submit took the fast path, inside the window (had it
	 * taken the locked path it would have waited for the lock, and
	 * stored its fence last either way). */
	assert_int_equal(vt_stats(e->vm).fast_submits - fast0, 1);
	print_message("locked submit fence %" PRIu64 ", fast submit fence %" PRIu64
		      " (queued in between, held back 500 ms)\n", fl.value, r.f.value);
	assert_int_equal(fl.engine, r.f.engine);
	assert_true(r.f.value > fl.value);
	assert_int_equal(vidmm_wait_fence(e->vm, fl, VT_WAIT_NS), 0);
	/* The locked job is done, the fast one not: a is busy. */
	assert_false(vidmm_fence_signalled(e->vm, r.f));
	assert_int_equal(vidmm_evict(e->vm, r.a), -EBUSY);
	assert_int_equal(vidmm_wait_fence(e->vm, r.f, VT_WAIT_NS), 0);
	assert_int_equal(vidmm_evict(e->vm, r.a), 0);
	assert_int_equal(vt_must_verify(e->vm, r.a, 1), 0);
	assert_int_equal(vt_must_verify(e->vm, b, 2), 0);
	vt_check(e->vm, "after the race");
	vt_env_down(e);
}

/* ---- MULTI-SUBMIT-NO-DEADLOCK ------------------------------------------------------------ */

/*
 * Four threads submit jobs over overlapping sets of allocations, each thread
 * naming them in its own order (even threads forward, odd ones backward,
 * from a random start), on more
 * allocations than local memory holds, so most submits page some in while
 * others hold theirs busy. Whatever locks or reservations a submit takes for
 * its allocations, taking them in the job's order would deadlock here; every
 * thread's calls must keep returning (a monitor fails the case after 15 s
 * without one: a job done or a documented refusal), every error must be a
 * documented one, and the data must survive. 60 s (20 s under a sanitizer).
 */
#define MS_N 12
#define MS_REFS 6
#define MS_THREADS 4

struct msub {
	vidmm_t *vm;
	const vidmm_handle_t *h;
	unsigned t;
	_Atomic bool *stop;
	_Atomic uint64_t ops, calls; /* jobs done; submit calls returned */
	uint64_t refused, busy, nospc;
	int bad_err; /* an undocumented errno, checked by the main thread */
	char why[96];
};

static void *msub_main(void *arg)
{
	struct msub *m = arg;
	struct vidmm_job j;
	struct vidmm_fence f;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (m->t + 1);

	memset(&j, 0, sizeof(j));
	j.op = VIDMM_JOB_TOUCH;
	j.nrefs = MS_REFS;
	while (!atomic_load(m->stop)) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		unsigned at = (unsigned)(rng >> 33) % MS_N;
		for (unsigned k = 0; k < MS_REFS; k++) {
			/* Even threads name the window forward, odd ones backward. */
			unsigned i = m->t & 1 ? at + MS_REFS - 1 - k : at + k;
			j.refs[k].handle = m->h[i % MS_N];
			j.refs[k].access = VIDMM_ACCESS_READ;
		}
		int ret = vidmm_submit(m->vm, &j, &f);
		atomic_fetch_add(&m->calls, 1);
		if (!contract_errno_ok(CALL_SUBMIT, ret)) {
			m->bad_err = ret;
			break;
		}
		if (ret) {
			/* Documented refusals: the others' jobs keep what this
			 * one needs busy, or it cannot all be resident at once. */
			m->refused++;
			m->busy += ret == -EBUSY;
			m->nospc += ret == -ENOSPC;
			continue;
		}
		ret = vidmm_wait_fence(m->vm, f, 30ull * 1000000000ull);
		if (ret) {
			snprintf(m->why, sizeof(m->why), "a job's fence did not signal in 30 s: %s",
				 vidmm_strerror(ret));
			break;
		}
		atomic_fetch_add(&m->ops, 1);
	}
	return NULL;
}

static void multi_submit_no_deadlock(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	vidmm_handle_t h[MS_N];
	struct msub m[MS_THREADS];
	pthread_t th[MS_THREADS];
	_Atomic bool stop = false;
	const unsigned secs = VT_SANITIZED ? 20 : 60;

	(void)state;
	watchdog(secs + 180);
	/* 72 MiB against 48 MiB of local memory: submits page in and out. */
	for (unsigned i = 0; i < MS_N; i++) {
		h[i] = vt_must_create(e->vm, e->local_invis, 6 * MIB, VIDMM_PRIO_NORMAL, 0);
		vt_must_fill(e->vm, h[i], 100 + i);
	}
	for (unsigned t = 0; t < MS_THREADS; t++) {
		m[t] = (struct msub){ .vm = e->vm, .h = h, .t = t, .stop = &stop };
		assert_int_equal(pthread_create(&th[t], NULL, msub_main, &m[t]), 0);
	}
	uint64_t seen[MS_THREADS] = { 0 }, since[MS_THREADS] = { 0 }, last[MS_THREADS];
	for (unsigned s = 0; s < secs; s++) {
		sleep(1);
		for (unsigned t = 0; t < MS_THREADS; t++) {
			uint64_t now = atomic_load(&m[t].calls);
			since[t] = now == seen[t] ? since[t] + 1 : 0;
			seen[t] = now;
			if (since[t] >= 15)
				fail_msg("thread %u: no submit call returned for 15 s (%" PRIu64
					 " jobs done): deadlock?", t, atomic_load(&m[t].ops));
		}
	}
	atomic_store(&stop, true);
	for (unsigned t = 0; t < MS_THREADS; t++) {
		pthread_join(th[t], NULL);
		if (m[t].bad_err)
			expect_doc(CALL_SUBMIT, m[t].bad_err, "a multi-allocation submit");
		if (m[t].why[0])
			fail_msg("thread %u: %s", t, m[t].why);
		last[t] = atomic_load(&m[t].ops);
	}
	struct vidmm_stats st = vt_stats(e->vm);
	uint64_t refused = 0, busy = 0, nospc = 0;
	for (unsigned t = 0; t < MS_THREADS; t++) {
		refused += m[t].refused;
		busy += m[t].busy;
		nospc += m[t].nospc;
	}
	print_message("%u s, 4 threads: %" PRIu64 " + %" PRIu64 " + %" PRIu64 " + %" PRIu64
		      " jobs of 6 allocations, %" PRIu64 " refused (-EBUSY %" PRIu64 ", -ENOSPC %"
		      PRIu64 "), %" PRIu64 " page-ins\n", secs, last[0], last[1], last[2], last[3],
		      refused, busy, nospc, st.page_ins);
	for (unsigned t = 0; t < MS_THREADS; t++)
		assert_true(last[t] > 0);
	assert_true(st.page_ins > 0);
	vt_check(e->vm, "after the run");
	for (unsigned i = 0; i < MS_N; i++)
		assert_int_equal(vt_must_verify(e->vm, h[i], 100 + i), 0);
	alarm(0);
	vt_env_down(e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("CONCURRENT-PAGE-IN", concurrent_page_in),
		VT_CASE("LOCK-VS-SUBMIT", lock_vs_submit),
		VT_CASE("NO-BLOCK-UNDER-LOCK", no_block_under_lock),
		VT_CASE("LATE-COPY-AFTER-TIMEOUT", late_copy_after_timeout),
		VT_CASE("DESTROY-WHILE-LOCKED", destroy_while_locked),
		VT_CASE("CLEAR-ON-CREATE", clear_on_create),
		VT_CASE("UNPAGABLE-STAYS-PUT", unpagable_stays_put),
		VT_CASE("FAILED-CALL-CHANGES-NOTHING", failed_call_changes_nothing),
		VT_CASE("ERRNOS-AS-DOCUMENTED", errnos_as_documented),
		VT_CASE("PLACEMENT-FREE-FIRST", placement_free_first),
		VT_CASE("DUMMY-FAULTS-ONCE", dummy_faults_once),
		VT_CASE("RELEASE-VALIDATES-FIRST", release_validates_first),
		VT_CASE("CONCURRENT-CREATE", concurrent_create),
		VT_CASE("SHARED-STRESS", shared_stress),
		VT_CASE("MULTI-SUBMIT-NO-DEADLOCK", multi_submit_no_deadlock),
		VT_CASE("FENCE-ORDER-LOCKED-VS-FAST", fence_order_locked_vs_fast),
	};
	return VT_MAIN("shared", cases);
}

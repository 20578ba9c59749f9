/* SPDX-License-Identifier: MIT */
/*
 * fuzz.c - `vidmm-bench fuzz` (see fuzz.h): programs of manager calls, the
 * model that checks every return and every content, delta debugging, and
 * the reproducer trace.
 *
 * Owns: the call kinds and their weights, the model, the minimizer. Must
 * not: use the core beyond vidmm.h and the emulator's public fault hooks.
 *
 * A program is an array of struct fop. Calls name allocations by model slot,
 * never by handle, so a program means the same after the minimizer removed
 * calls from it: a call on a slot whose create was removed becomes a call on
 * a handle that is not live, which the model expects to be -EBADF.
 *
 * Single-threaded runs are deterministic: every job's fence is waited for,
 * and every create waits until its clear has run (the manager then never
 * sees a busy allocation it did not just use), background reclaim is off.
 * The only timing left is what injected late or delayed commands add.
 */
#include "fuzz.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "contract.h"
#include "metrics.h"
#include "platform.h"
#include "drivers/emu/emu.h"
#include "timeline.h"

#define NSLOT 16
#define NREF 4
#define MAXRUN 8
#define WAIT_NS (30ull * 1000000000ull)

enum fk {
	K_CREATE = 0, K_DESTROY, K_SUBMIT, K_WAIT_IDLE, K_LOCK, K_UNLOCK, K_CPU_WRITE,
	K_EVICT, K_SWAP_OUT, K_QUERY, K_STATS, K_FAULT,
};

static const char *const kind_names[FUZZ_KINDS] = {
	"create", "destroy", "submit", "wait_idle", "lock", "unlock", "cpu_write",
	"evict", "swap_out", "query", "stats", "fault",
};

const char *fuzz_kind_name(unsigned k)
{
	return k < FUZZ_KINDS ? kind_names[k] : "?";
}

/* Faults a K_FAULT call arms for what comes next. */
enum ff { F_COPY_FAIL, F_LATE, F_JOB_FAIL, F_SWAP_WRITE, F_SWAP_READ, F_SWAP_FULL, F_CORRUPT, F_KINDS };

struct fop {
	uint32_t orig;            /* its number in the generated program */
	uint8_t kind;
	uint8_t slot;
	uint8_t variant;          /* 0 normal; else an invalid or unusual form */
	uint8_t nref;
	uint8_t ref[NREF];
	uint8_t acc[NREF];
	uint8_t jop, engine;
	uint64_t seed;
	/* create */
	uint64_t size, align;
	uint8_t prio, npref;
	uint32_t flags;
	uint32_t pref[VIDMM_MAX_PREFERRED];
};

/* ---- the model of contents ------------------------------------------------ */

enum ck { C_ZERO, C_PAT, C_UNKNOWN };

struct crun {
	uint64_t start, len;
	uint8_t kind;
	uint64_t seed;
};

struct content {
	uint32_t n;
	struct crun r[MAXRUN];
};

static void content_set(struct content *c, uint64_t size, enum ck kind, uint64_t seed)
{
	c->n = 1;
	c->r[0] = (struct crun){ 0, size, (uint8_t)kind, seed };
}

static bool content_known(const struct content *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->r[i].kind == C_UNKNOWN)
			return false;
	return true;
}

/* dst[0, len) takes src[0, len): the pattern is position-independent within
 * an allocation, so a copy to the same offsets keeps it. */
static void content_copy(struct content *dst, uint64_t dsize, const struct content *src,
			 uint64_t len)
{
	struct content out = { 0 };

	for (uint32_t i = 0; i < src->n && out.n < MAXRUN; i++) {
		const struct crun *r = &src->r[i];
		if (r->start >= len)
			break;
		out.r[out.n] = *r;
		if (r->start + r->len > len)
			out.r[out.n].len = len - r->start;
		out.n++;
	}
	for (uint32_t i = 0; i < dst->n; i++) {
		const struct crun *r = &dst->r[i];
		uint64_t end = r->start + r->len;
		if (end <= len)
			continue;
		if (out.n == MAXRUN) {
			/* Too many pieces to follow: the rest is unknown. */
			out.r[MAXRUN - 1].len = dsize - out.r[MAXRUN - 1].start;
			out.r[MAXRUN - 1].kind = C_UNKNOWN;
			break;
		}
		struct crun nr = *r;
		if (nr.start < len) {
			nr.len = end - len;
			nr.start = len;
		}
		out.r[out.n++] = nr;
	}
	*dst = out;
}

static uint64_t run_word(const struct crun *r, uint64_t off)
{
	return r->kind == C_ZERO ? 0 : vidmm_pattern_word(r->seed, off);
}

/* Words of c that a VERIFY with seed would count as mismatched. */
static uint64_t content_mismatches(const struct content *c, uint64_t seed)
{
	uint64_t bad = 0;

	for (uint32_t i = 0; i < c->n; i++)
		if (!(c->r[i].kind == C_PAT && c->r[i].seed == seed))
			bad += c->r[i].len / 8;
	return bad;
}

/* Feed c's bytes into a running XXH3 state (CHECKSUM's algorithm). */
static void content_hash(const struct content *c, XXH3_state_t *st)
{
	uint64_t buf[512];

	for (uint32_t i = 0; i < c->n; i++) {
		const struct crun *r = &c->r[i];
		for (uint64_t off = r->start; off < r->start + r->len;) {
			uint64_t n = r->start + r->len - off;
			if (n > sizeof(buf))
				n = sizeof(buf);
			for (uint64_t k = 0; k < n / 8; k++)
				buf[k] = run_word(r, off + k * 8);
			XXH3_64bits_update(st, buf, n);
			off += n;
		}
	}
}

/* Words of the CPU's view that differ from c (unknown runs count none). */
static uint64_t content_cpu_mismatches(const struct content *c, const void *cpu)
{
	const uint64_t *w = cpu;
	uint64_t bad = 0;

	for (uint32_t i = 0; i < c->n; i++) {
		const struct crun *r = &c->r[i];
		if (r->kind == C_UNKNOWN)
			continue;
		for (uint64_t off = r->start; off < r->start + r->len; off += 8)
			bad += w[off / 8] != run_word(r, off);
	}
	return bad;
}

/* ---- one execution ------------------------------------------------------------ */

struct slot {
	vidmm_handle_t h;          /* live handle, 0: none */
	vidmm_handle_t dead;       /* the last one destroyed (stale-handle calls) */
	uint64_t id, dead_id;      /* trace ids of h and dead */
	uint64_t size;
	uint32_t flags;
	bool cpu_ok;
	uint32_t locks;
	void *cpu;
	struct content c;
	pthread_mutex_t token;     /* threaded mode: the slot's owner for one call */
};

struct exec;

/* One call's record (differential runs and the reproducer). */
struct callrec {
	int ret;
	bool must;                 /* the model fixed the result */
	int expect;                /* the model's value when must */
	bool has_result;           /* VERIFY / CHECKSUM: expected result word */
	uint64_t result;
	bool cpu_checked;          /* a CPU read was checked (the reproducer's "V") */
	struct content cpu;        /* ... against these contents */
};

struct exec {
	const struct fuzz_opts *o;
	struct platform pl;
	bool open;
	struct vidmm_segment_info seg[VIDMM_MAX_SEGMENTS];
	uint32_t nseg;
	struct vidmm_chip_engines eng;
	bool has_swap;
	struct slot s[NSLOT];
	vidmm_handle_t leaked[4096];
	uint32_t nleaked;
	uint64_t next_id;
	struct callrec *rec;       /* per call, or NULL */
	struct fuzz_stats *st;
	/* the first finding */
	bool failed;
	int fail_kind;             /* enum fail */
	uint32_t fail_op;          /* index in the program */
	char why[512];
	bool faults_armed;         /* fault calls or --inject: losses may be reported */
	uint64_t base_pages;       /* system pages the manager holds itself (dummy, staging) */
	pthread_mutex_t lock;      /* threaded: st counters and the finding */
};

enum fail { FAIL_NONE, FAIL_CHECK, FAIL_ERRNO, FAIL_SITUATION, FAIL_CONTENT, FAIL_PLANT, FAIL_DIFF };

static const char *const fail_names[] = { "none", "vidmm_check", "undocumented errno",
					  "errno not legal here", "contents", "planted",
					  "differential" };

static void finding(struct exec *x, enum fail k, uint32_t op, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void finding(struct exec *x, enum fail k, uint32_t op, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&x->lock);
	if (!x->failed) {
		x->failed = true;
		x->fail_kind = k;
		x->fail_op = op;
		va_start(ap, fmt);
		vsnprintf(x->why, sizeof(x->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&x->lock);
}

/* Count a call's return, and record it as call opi's. */
static void count_ret_at(struct exec *x, uint32_t opi, unsigned kind, int ret)
{
	if (x->rec)
		x->rec[opi].ret = ret;
	if (!x->st)
		return;
	pthread_mutex_lock(&x->lock);
	/* A cpu_write is a lock, stores and an unlock: its lock and unlock are
	 * the calls, counted under their own kinds. */
	if (kind != K_CPU_WRITE)
		x->st->calls++;
	x->st->calls_by_kind[kind]++;
	unsigned e = ret < 0 && -ret < 160 ? (unsigned)-ret : ret ? 159 : 0;
	x->st->rets[kind][e]++;
	pthread_mutex_unlock(&x->lock);
}

#define count_ret(x, kind, ret) count_ret_at(x, opi, kind, ret)

/* Documented for the call, and one of the situation's legal values. */
/* --timeline: each checked call a slice from the last one (or the step's
 * start) to its check, on this thread. */
static _Thread_local uint64_t step_t0;

static void timeline_call(enum vidmm_call call, int ret)
{
	if (timeline_active && step_t0) {
		timeline_api(call, step_t0, ret);
		step_t0 = timeline_now();
	}
}

static void expect(struct exec *x, uint32_t opi, const struct fop *f, enum vidmm_call call,
		   int ret, const int *legal, unsigned nlegal)
{
	timeline_call(call, ret);
	if (!contract_errno_ok(call, ret)) {
		finding(x, FAIL_ERRNO, opi, "call %u (%s): %s returned %d (%s), undocumented "
			"(documented: %s)", f->orig, kind_names[f->kind], contract_call_name(call),
			ret, vidmm_strerror(ret), contract_errnos(call));
		return;
	}
	for (unsigned i = 0; i < nlegal; i++)
		if (legal[i] == ret)
			return;
	char l[128] = "";
	for (unsigned i = 0; i < nlegal; i++)
		snprintf(l + strlen(l), sizeof(l) - strlen(l), "%s%d", i ? " " : "", legal[i]);
	finding(x, FAIL_SITUATION, opi, "call %u (%s): %s returned %d (%s); here only {%s} is legal",
		f->orig, kind_names[f->kind], contract_call_name(call), ret, vidmm_strerror(ret), l);
}

#define LEGAL(...) (const int[]){ __VA_ARGS__ }, sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int)

/* Fixed by the model: record it and check it. */
static void expect_must(struct exec *x, uint32_t opi, const struct fop *f, enum vidmm_call call,
			int ret, int must)
{
	if (x->rec) {
		x->rec[opi].must = true;
		x->rec[opi].expect = must;
	}
	expect(x, opi, f, call, ret, &must, 1);
}

/* The resource-dependent outcomes of a call that needs GPU memory. */
static const int res_legal[] = { 0, -ENOSPC, -EBUSY, -ENOMEM, -EIO, -ETIMEDOUT };

static bool seg_allowed(const struct vidmm_segment_info *s, uint32_t flags)
{
	if (s->flags & VIDMM_SEG_PAGING)
		return false;
	if ((flags & VIDMM_ALLOC_CPU_VISIBLE) && !(s->flags & VIDMM_SEG_CPU_VISIBLE))
		return false;
	if ((flags & VIDMM_ALLOC_LOCAL_ONLY) && !(s->flags & VIDMM_SEG_LOCAL))
		return false;
	return true;
}

/*
 * What vidmm.h says a create with this descriptor returns when it cannot be
 * valid: -EINVAL or -ENOSPC (a size no allowed segment holds); 0 when it
 * may succeed. *cpu_ok: some allowed segment can hold it and is CPU-visible.
 */
static int create_verdict(const struct exec *x, const struct fop *f, bool *cpu_ok)
{
	const uint64_t page = 4096;
	const uint32_t known = VIDMM_ALLOC_UNPAGABLE | VIDMM_ALLOC_CPU_VISIBLE |
			       VIDMM_ALLOC_LOCAL_ONLY | VIDMM_ALLOC_TOP_DOWN;
	uint32_t order[VIDMM_MAX_SEGMENTS], n = 0;

	*cpu_ok = false;
	if (!f->size || f->size > UINT64_MAX - page || f->prio >= VIDMM_PRIO_COUNT ||
	    (f->flags & ~known) || (f->align && (f->align & (f->align - 1))))
		return -EINVAL;
	if (f->npref) {
		if (f->npref > VIDMM_MAX_PREFERRED)
			return -EINVAL;
		for (uint32_t i = 0; i < f->npref; i++) {
			if (f->pref[i] >= x->nseg || !seg_allowed(&x->seg[f->pref[i]], f->flags))
				return -EINVAL;
			for (uint32_t j = 0; j < i; j++)
				if (f->pref[j] == f->pref[i])
					return -EINVAL;
			order[n++] = f->pref[i];
		}
	} else {
		for (uint32_t i = 0; i < x->nseg; i++)
			if (seg_allowed(&x->seg[i], f->flags))
				order[n++] = i;
		if (!n)
			return -EINVAL;
	}
	uint64_t size = (f->size + page - 1) / page * page, align = f->align < page ? page : f->align;
	bool align_fits = false, fits = false;
	for (uint32_t i = 0; i < n; i++) {
		const struct vidmm_segment_info *s = &x->seg[order[i]];
		if (align > s->size)
			continue;
		align_fits = true;
		if (size > s->size)
			continue;
		fits = true;
		if (s->flags & VIDMM_SEG_CPU_VISIBLE)
			*cpu_ok = true;
	}
	if (!align_fits)
		return -EINVAL;
	return fits ? 0 : -ENOSPC;
}

/* A handle for a call on slot sl: the live one, or for variants a stale or
 * forged one; *live tells which. */
static vidmm_handle_t pick_handle(const struct slot *sl, uint8_t variant, bool *live)
{
	*live = false;
	if (variant == 1)
		return sl->dead;                 /* stale (0 if none yet) */
	if (variant == 2)
		return 0xdead00000001ull;        /* forged */
	*live = sl->h != 0;
	return sl->h;
}

static void check_after(struct exec *x, uint32_t opi, const struct fop *f)
{
	int ret = vidmm_check(x->pl.vm);
	if (ret)
		finding(x, FAIL_CHECK, opi, "call %u (%s): vidmm_check: %s", f->orig,
			kind_names[f->kind], ret == -EUCLEAN ? vidmm_check_error(x->pl.vm)
							     : vidmm_strerror(ret));
}

/* The lock half of a CPU access: the model says when it must fail. */
static int do_lock(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	bool live;
	vidmm_handle_t h = pick_handle(sl, f->variant == 1 || f->variant == 2 ? f->variant : 0, &live);
	void *cpu = NULL;
	int ret = vidmm_lock(x->pl.vm, h, &cpu);

	count_ret(x, K_LOCK, ret);
	if (!live) {
		expect_must(x, opi, f, CALL_LOCK, ret, -EBADF);
		return ret ? ret : -EBADF;
	}
	if (sl->locks) {
		/* Nested: the same mapping, always. */
		expect_must(x, opi, f, CALL_LOCK, ret, 0);
		if (!ret && cpu != sl->cpu)
			finding(x, FAIL_CONTENT, opi, "call %u: a nested lock mapped %p, the first %p",
				f->orig, cpu, sl->cpu);
	} else if (!sl->cpu_ok) {
		expect_must(x, opi, f, CALL_LOCK, ret, -EINVAL);
	} else {
		struct vidmm_alloc_info in;
		bool invisible_unpagable = false;
		if ((sl->flags & VIDMM_ALLOC_UNPAGABLE) &&
		    vidmm_query_allocation(x->pl.vm, h, &in) == 0 && in.residency == VIDMM_RESIDENT &&
		    !(x->seg[in.segment].flags & VIDMM_SEG_CPU_VISIBLE))
			invisible_unpagable = true;
		if (invisible_unpagable)
			expect_must(x, opi, f, CALL_LOCK, ret, -EINVAL);
		else
			expect(x, opi, f, CALL_LOCK, ret, res_legal, 6);
	}
	if (ret)
		return ret;
	sl->locks++;
	sl->cpu = cpu;
	/* What the CPU sees must be what the model says. */
	uint64_t bad = content_cpu_mismatches(&sl->c, cpu);
	if (x->st) {
		pthread_mutex_lock(&x->lock);
		x->st->content_checks++;
		pthread_mutex_unlock(&x->lock);
	}
	if (x->rec) {
		x->rec[opi].cpu_checked = true;
		x->rec[opi].cpu = sl->c;
	}
	if (bad)
		finding(x, FAIL_CONTENT, opi, "call %u (lock): the CPU reads %" PRIu64 " words that "
			"differ from what was written (%" PRIu64 " bytes)", f->orig, bad, sl->size);
	return 0;
}

static int do_unlock(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	bool live;
	vidmm_handle_t h = pick_handle(sl, f->variant == 1 ? 1 : 0, &live);
	int ret = vidmm_unlock(x->pl.vm, h);

	count_ret(x, K_UNLOCK, ret);
	expect_must(x, opi, f, CALL_UNLOCK, ret, !live ? -EBADF : sl->locks ? 0 : -EINVAL);
	if (!ret && live && sl->locks && --sl->locks == 0)
		sl->cpu = NULL;
	return ret;
}

/* Wait for a job and apply it to the model (or learn that it failed). */
/* A job result the model predicts: recorded for the reproducer, counted. */
static void checked(struct exec *x, uint32_t opi, uint64_t want)
{
	if (x->rec) {
		x->rec[opi].has_result = true;
		x->rec[opi].result = want;
	}
	if (x->st) {
		pthread_mutex_lock(&x->lock);
		x->st->content_checks++;
		pthread_mutex_unlock(&x->lock);
	}
}

static void job_done(struct exec *x, uint32_t opi, const struct fop *f, struct vidmm_fence fence,
		     const uint64_t *resultp, struct slot **r)
{
	int w = vidmm_wait_fence(x->pl.vm, fence, WAIT_NS);
	uint64_t result = *resultp; /* written by the engine before the fence */
	if (w) {
		finding(x, FAIL_SITUATION, opi, "call %u: a job's fence never signalled (%s)",
			f->orig, vidmm_strerror(w));
		return;
	}
	if (!vidmm_fence_signalled(x->pl.vm, fence))
		finding(x, FAIL_SITUATION, opi, "call %u: a fence the wait returned 0 for is not "
			"signalled", f->orig);
	int status = vidmm_fence_status(x->pl.vm, fence);
	if (!contract_errno_ok(CALL_FENCE_STATUS, status))
		finding(x, FAIL_ERRNO, opi, "vidmm_fence_status returned %d", status);
	if (status == -EIO || status == -ENODATA) {
		/* The API reports the job failed: what it was to write is lost. */
		if (f->jop == VIDMM_JOB_FILL)
			for (uint32_t i = 0; i < f->nref; i++)
				content_set(&r[i]->c, r[i]->size, C_UNKNOWN, 0);
		else if (f->jop == VIDMM_JOB_COPY)
			content_set(&r[1]->c, r[1]->size, C_UNKNOWN, 0);
		return;
	}
	switch (f->jop) {
	case VIDMM_JOB_FILL:
		for (uint32_t i = 0; i < f->nref; i++)
			content_set(&r[i]->c, r[i]->size, C_PAT, f->seed);
		break;
	case VIDMM_JOB_COPY: {
		uint64_t n = r[0]->size < r[1]->size ? r[0]->size : r[1]->size;
		struct content src = r[0]->c;
		content_copy(&r[1]->c, r[1]->size, &src, n);
		break;
	}
	case VIDMM_JOB_VERIFY: {
		bool known = true;
		uint64_t want = 0;
		for (uint32_t i = 0; i < f->nref; i++) {
			known &= content_known(&r[i]->c);
			want += content_mismatches(&r[i]->c, f->seed);
		}
		if (!known)
			break;
		checked(x, opi, want);
		if (result != want)
			finding(x, FAIL_CONTENT, opi, "call %u (VERIFY, seed %" PRIu64 "): %" PRIu64
				" mismatched words, the model expects %" PRIu64, f->orig, f->seed,
				result, want);
		break;
	}
	case VIDMM_JOB_CHECKSUM: {
		XXH3_state_t hs;
		bool known = true;
		XXH3_INITSTATE(&hs);
		XXH3_64bits_reset_withSeed(&hs, f->seed);
		for (uint32_t i = 0; i < f->nref; i++) {
			known &= content_known(&r[i]->c);
			if (known)
				content_hash(&r[i]->c, &hs);
		}
		if (!known)
			break;
		uint64_t want = XXH3_64bits_digest(&hs);
		checked(x, opi, want);
		if (result != want)
			finding(x, FAIL_CONTENT, opi, "call %u (CHECKSUM of %u allocations): 0x%016" PRIx64
				", the model expects 0x%016" PRIx64, f->orig, f->nref, result, want);
		break;
	}
	default:
		break;
	}
}

static void do_submit(struct exec *x, uint32_t opi, const struct fop *f)
{
	struct vidmm_job j;
	struct slot *r[NREF];
	bool all_live = true, bad_job = false;
	uint64_t result = UINT64_MAX;
	struct vidmm_fence fence;

	memset(&j, 0, sizeof(j));
	j.op = (enum vidmm_job_op)f->jop;
	j.seed = f->seed;
	j.engine = f->engine;
	j.nrefs = f->nref;
	j.result = &result;
	for (uint32_t i = 0; i < f->nref; i++) {
		bool live;
		r[i] = &x->s[f->ref[i]];
		j.refs[i].handle = pick_handle(r[i], i == 0 && (f->variant == 1 || f->variant == 2)
							     ? f->variant : 0, &live);
		j.refs[i].access = f->acc[i];
		all_live &= live;
		bad_job |= !(f->acc[i] & (VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE));
	}
	bad_job |= f->nref == 0 || f->nref > VIDMM_JOB_MAX_REFS || f->jop > VIDMM_JOB_TOUCH ||
		   f->engine >= x->eng.n_job || (f->jop == VIDMM_JOB_COPY && f->nref != 2);
	int ret = vidmm_submit(x->pl.vm, &j, &fence);
	count_ret(x, K_SUBMIT, ret);
	if (bad_job)
		expect_must(x, opi, f, CALL_SUBMIT, ret, -EINVAL);
	else if (!all_live)
		expect_must(x, opi, f, CALL_SUBMIT, ret, -EBADF);
	else
		expect(x, opi, f, CALL_SUBMIT, ret, res_legal, 6);
	if (!ret)
		job_done(x, opi, f, fence, &result, r);
}

static void do_create(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	struct vidmm_alloc_desc d = { .size = f->size, .alignment = f->align,
				      .priority = (enum vidmm_priority)f->prio, .flags = f->flags,
				      .n_preferred = f->npref };
	vidmm_handle_t h = 0;
	bool cpu_ok;

	memcpy(d.preferred, f->pref, sizeof(d.preferred));
	/* A create on a live slot replaces it: the old one is destroyed first
	 * (unless locked: then it stays live, outside the model, till the end). */
	if (sl->h) {
		int dr = vidmm_destroy_allocation(x->pl.vm, sl->h);
		count_ret(x, K_DESTROY, dr);
		int must = sl->locks ? -EBUSY : 0;
		if (dr != must)
			finding(x, FAIL_SITUATION, opi, "call %u (create over a live slot): destroy of "
				"the old allocation returned %d, %d expected", f->orig, dr, must);
		if (!dr) {
			sl->dead = sl->h;
			__atomic_store_n(&sl->h, 0, __ATOMIC_RELAXED);
		}
	}
	int verdict = create_verdict(x, f, &cpu_ok);
	int ret = vidmm_create_allocation(x->pl.vm, &d, &h);
	count_ret(x, K_CREATE, ret);
	if (verdict == -EINVAL)
		expect_must(x, opi, f, CALL_CREATE, ret, -EINVAL);
	else if (verdict == -ENOSPC)
		expect_must(x, opi, f, CALL_CREATE, ret, -ENOSPC);
	else
		expect(x, opi, f, CALL_CREATE, ret, LEGAL(0, -ENOSPC, -EBUSY, -ENOMEM, -EIO));
	/* The id is taken under the lock: another thread creates too. */
	pthread_mutex_lock(&x->lock);
	uint64_t id = x->next_id++;
	pthread_mutex_unlock(&x->lock);
	if (ret)
		return;
	pthread_mutex_lock(&x->lock);
	if (sl->h && x->nleaked < sizeof(x->leaked) / sizeof(x->leaked[0]))
		x->leaked[x->nleaked++] = sl->h; /* still live: destroyed at the end */
	pthread_mutex_unlock(&x->lock);
	__atomic_store_n(&sl->h, h, __ATOMIC_RELAXED);
	sl->id = id;
	sl->size = (f->size + 4095) / 4096 * 4096;
	sl->flags = f->flags;
	sl->cpu_ok = cpu_ok;
	sl->locks = 0;
	sl->cpu = NULL;
	content_set(&sl->c, sl->size, C_ZERO, 0);
	/* Its clear runs on a copy engine: let it finish, so no later call's
	 * result depends on how fast it was. */
	if (x->o->threads <= 1)
		vidmm_wait_idle(x->pl.vm, WAIT_NS);
}

static void do_destroy(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	bool live;
	vidmm_handle_t h = pick_handle(sl, f->variant, &live);
	int ret = vidmm_destroy_allocation(x->pl.vm, h);

	count_ret(x, K_DESTROY, ret);
	expect_must(x, opi, f, CALL_DESTROY, ret, !live ? -EBADF : sl->locks ? -EBUSY : 0);
	if (!ret && live) {
		sl->dead = sl->h;
		sl->dead_id = sl->id;
		__atomic_store_n(&sl->h, 0, __ATOMIC_RELAXED);
		/* A second destroy of the same handle: -EBADF. */
		if (f->variant == 3) {
			ret = vidmm_destroy_allocation(x->pl.vm, sl->dead);
			count_ret(x, K_DESTROY, ret);
			if (ret != -EBADF)
				finding(x, FAIL_SITUATION, opi, "call %u: a second destroy of one "
					"handle returned %d", f->orig, ret);
		}
	}
}

static void do_cpu_write(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	/* Lock, write a pattern through the pointer, unlock. */
	if (!sl->h)
		return;
	int ret = do_lock(x, opi, f, sl);
	count_ret(x, K_CPU_WRITE, ret);
	if (ret)
		return;
	uint64_t *w = sl->cpu;
	for (uint64_t off = 0; off < sl->size; off += 8)
		w[off / 8] = vidmm_pattern_word(f->seed, off);
	content_set(&sl->c, sl->size, C_PAT, f->seed);
	int u = vidmm_unlock(x->pl.vm, sl->h);
	count_ret(x, K_UNLOCK, u);
	if (u)
		finding(x, FAIL_SITUATION, opi, "call %u: unlock after a CPU write: %d", f->orig, u);
	else if (--sl->locks == 0)
		sl->cpu = NULL;
}

static void do_move(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	bool live;
	vidmm_handle_t h = pick_handle(sl, f->variant == 1 ? 1 : 0, &live);
	bool swap = f->kind == K_SWAP_OUT;
	int ret = swap ? vidmm_swap_out(x->pl.vm, h) : vidmm_evict(x->pl.vm, h);
	enum vidmm_call call = swap ? CALL_SWAP_OUT : CALL_EVICT;

	count_ret(x, f->kind, ret);
	if (!live)
		expect_must(x, opi, f, call, ret, -EBADF);
	else if (swap && !x->has_swap)
		expect_must(x, opi, f, call, ret, -ENODEV);
	else if (sl->locks || (sl->flags & VIDMM_ALLOC_UNPAGABLE))
		expect_must(x, opi, f, call, ret, -EBUSY);
	else if (swap)
		expect(x, opi, f, call, ret, LEGAL(0, -EBUSY, -ENOSPC, -ENOMEM, -EIO, -ETIMEDOUT));
	else
		expect(x, opi, f, call, ret, LEGAL(0, -EBUSY, -ENOMEM, -EIO, -ETIMEDOUT));
}

/* The queries besides vidmm_query_allocation (K_QUERY with jop 1..4): they
 * change nothing, so they agree with the model or it is a finding. */
static void do_query_other(struct exec *x, uint32_t opi, const struct fop *f)
{
	int ret;

	switch (f->jop) {
	case 1: {
		struct vidmm_segment_info si[VIDMM_MAX_SEGMENTS];
		uint32_t n = 0;
		ret = vidmm_query_segments(x->pl.vm, f->variant ? NULL : si,
					   f->variant ? 1 : VIDMM_MAX_SEGMENTS, &n);
		count_ret(x, K_QUERY, ret);
		expect_must(x, opi, f, CALL_QUERY_SEGMENTS, ret, f->variant ? -EINVAL : 0);
		if (!ret && n != x->nseg)
			finding(x, FAIL_SITUATION, opi, "call %u: %u segments, %u at start", f->orig,
				n, x->nseg);
		/* Segments never change after init. */
		for (uint32_t i = 0; !ret && i < n && i < x->nseg; i++)
			if (si[i].id != x->seg[i].id || si[i].base != x->seg[i].base ||
			    si[i].size != x->seg[i].size || si[i].flags != x->seg[i].flags)
				finding(x, FAIL_SITUATION, opi, "call %u: segment %u changed since init",
					f->orig, i);
		break;
	}
	case 2: {
		struct vidmm_swapped_info sw[NSLOT * 2];
		uint32_t n = 0;
		ret = vidmm_query_swapped(x->pl.vm, f->variant ? NULL : sw,
					  f->variant ? 1 : NSLOT * 2, &n);
		count_ret(x, K_QUERY, ret);
		expect_must(x, opi, f, CALL_QUERY_SWAPPED, ret, f->variant ? -EINVAL : 0);
		if (ret || x->o->threads > 1)
			break;
		/* Every handle listed is one the program holds, with its size. */
		for (uint32_t i = 0; i < n && i < NSLOT * 2; i++) {
			bool known = false;
			for (int k = 0; k < NSLOT; k++)
				if (x->s[k].h == sw[i].handle) {
					known = true;
					if (sw[i].size != x->s[k].size)
						finding(x, FAIL_SITUATION, opi, "call %u: swapped list "
							"gives %" PRIu64 " bytes for a %" PRIu64 "-byte "
							"allocation", f->orig, sw[i].size, x->s[k].size);
				}
			for (uint32_t k = 0; k < x->nleaked && !known; k++)
				known = x->leaked[k] == sw[i].handle;
			if (!known)
				finding(x, FAIL_SITUATION, opi, "call %u: the swapped list holds handle "
					"%#" PRIx64 ", which is not live", f->orig, (uint64_t)sw[i].handle);
		}
		break;
	}
	case 3: {
		struct vidmm_hist *h = malloc(sizeof(*h));
		enum vidmm_hist_id id = (enum vidmm_hist_id)(f->seed % (VIDMM_HIST_SWAP_READ_IO + 2));
		bool valid = id <= VIDMM_HIST_SWAP_READ_IO;
		if (!h)
			return;
		ret = vidmm_query_histogram(x->pl.vm, id, h);
		count_ret(x, K_QUERY, ret);
		if (valid)
			expect(x, opi, f, CALL_QUERY_HIST, ret, LEGAL(0, -ENOMEM));
		else
			expect_must(x, opi, f, CALL_QUERY_HIST, ret, -EINVAL);
		if (!ret && h->count && (h->min > h->max || vidmm_hist_quantile(h, 0.5) > h->max))
			finding(x, FAIL_SITUATION, opi, "call %u: histogram %d: min %" PRIu64 ", max %"
				PRIu64 ", p50 %" PRIu64, f->orig, (int)id, h->min, h->max,
				vidmm_hist_quantile(h, 0.5));
		free(h);
		break;
	}
	default: {
		/* A fence the manager never gave out: not signalled, and waiting on
		 * it is refused or times out at once. */
		struct vidmm_fence fake = { .engine = (uint32_t)(f->seed % 8), .value = UINT64_MAX / 2 };
		bool sig = vidmm_fence_signalled(x->pl.vm, fake);
		ret = vidmm_wait_fence(x->pl.vm, fake, 0);
		count_ret(x, K_QUERY, ret);
		expect(x, opi, f, CALL_WAIT_FENCE, ret, LEGAL(-EINVAL, -ETIMEDOUT));
		if (sig)
			finding(x, FAIL_SITUATION, opi, "call %u: a fence never submitted reads as "
				"signalled", f->orig);
		break;
	}
	}
}

static void do_query(struct exec *x, uint32_t opi, const struct fop *f, struct slot *sl)
{
	bool live;

	if (f->jop) {
		do_query_other(x, opi, f);
		return;
	}
	vidmm_handle_t h = pick_handle(sl, f->variant == 2 ? 2 : 0, &live);
	struct vidmm_alloc_info in;
	int ret = vidmm_query_allocation(x->pl.vm, h, &in);

	count_ret(x, K_QUERY, ret);
	expect_must(x, opi, f, CALL_QUERY_ALLOC, ret, live ? 0 : -EBADF);
	if (!ret && live && (in.size != sl->size || in.flags != sl->flags))
		finding(x, FAIL_SITUATION, opi, "call %u: query says %" PRIu64 " bytes, flags %#x; "
			"created with %" PRIu64 ", %#x", f->orig, in.size, in.flags, sl->size, sl->flags);
	if (!ret && live && sl->locks && in.residency != VIDMM_RESIDENT)
		finding(x, FAIL_SITUATION, opi, "call %u: a locked allocation is not resident",
			f->orig);
}

static void do_stats(struct exec *x, uint32_t opi, const struct fop *f)
{
	struct vidmm_stats st;
	int ret = vidmm_query_stats(x->pl.vm, &st);
	uint64_t live = x->nleaked;

	count_ret(x, K_STATS, ret);
	expect_must(x, opi, f, CALL_QUERY_STATS, ret, 0);
	for (int i = 0; i < NSLOT; i++)
		live += x->s[i].h != 0;
	if (!ret && x->o->threads <= 1 && st.allocations != live)
		finding(x, FAIL_SITUATION, opi, "call %u: %" PRIu64 " live allocations counted, the "
			"model holds %" PRIu64, f->orig, st.allocations, live);
}

static void do_fault(struct exec *x, uint32_t opi, const struct fop *f)
{
	struct emu *e = x->pl.emu;
	uint32_t ce = (uint32_t)(f->seed % x->eng.n_copy);
	unsigned kind = f->variant % F_KINDS;

	count_ret(x, K_FAULT, 0);
	/* another driver: only the manager's swap faults can be injected */
	if (!e && (kind == F_COPY_FAIL || kind == F_LATE || kind == F_JOB_FAIL))
		return;
	x->faults_armed = true;
	switch (kind) {
	case F_COPY_FAIL:
		emu_inject_copy_failure(e, ce, 1);
		break;
	case F_LATE:
		emu_inject_start_delay(e, ce, 3 * (x->o->fence_timeout_ns ? x->o->fence_timeout_ns
									  : 2000000000ull) / 2, 1);
		break;
	case F_JOB_FAIL:
		emu_inject_copy_failure(e, x->eng.n_copy, 1);
		break;
	case F_SWAP_WRITE:
	case F_SWAP_READ:
		if (x->has_swap)
			vidmm_debug_swap_inject(x->pl.vm, f->variant % F_KINDS == F_SWAP_WRITE, -EIO, 1);
		break;
	case F_SWAP_FULL:
		if (x->has_swap)
			vidmm_debug_swap_inject(x->pl.vm, true, -ENOSPC, 1);
		break;
	default:
		break;
	}
}

/* One call of the program. */
static void step(struct exec *x, uint32_t opi, const struct fop *f)
{
	struct slot *sl = &x->s[f->slot % NSLOT];
	int ret;

	step_t0 = timeline_active ? timeline_now() : 0;
	switch (f->kind) {
	case K_CREATE:
		do_create(x, opi, f, sl);
		break;
	case K_DESTROY:
		do_destroy(x, opi, f, sl);
		break;
	case K_SUBMIT:
		do_submit(x, opi, f);
		break;
	case K_WAIT_IDLE:
		ret = vidmm_wait_idle(x->pl.vm, WAIT_NS);
		count_ret(x, K_WAIT_IDLE, ret);
		expect(x, opi, f, CALL_WAIT_IDLE, ret, LEGAL(0, -ETIMEDOUT));
		break;
	case K_LOCK:
		do_lock(x, opi, f, sl);
		break;
	case K_UNLOCK:
		do_unlock(x, opi, f, sl);
		break;
	case K_CPU_WRITE:
		do_cpu_write(x, opi, f, sl);
		break;
	case K_EVICT:
	case K_SWAP_OUT:
		do_move(x, opi, f, sl);
		break;
	case K_QUERY:
		do_query(x, opi, f, sl);
		break;
	case K_STATS:
		do_stats(x, opi, f);
		break;
	case K_FAULT:
		do_fault(x, opi, f);
		break;
	}
	if (x->o->plant_at && f->orig >= x->o->plant_at && sl->h)
		finding(x, FAIL_PLANT, opi, "call %u: the planted failure (the first call from "
			"number %u on that finds its slot live)", f->orig, x->o->plant_at);
}

static int exec_open(struct exec *x, const struct fuzz_opts *o, enum vidmm_paging_mode mode,
		     bool plain_lru, char *err, size_t len)
{
	struct platform_opts po = {
		.paging_mode = mode,
		.pipelined_paging = o->pipelined,
		.evict_policy = o->evict_policy[0] ? o->evict_policy : NULL,
		.swap_dir = o->swap_dir[0] ? o->swap_dir : NULL,
		.no_background_reclaim = o->threads <= 1,
		.no_async_readahead = o->threads <= 1,
		.fence_timeout_ns = o->fence_timeout_ns,
		.trace = timeline_active ? timeline_core_event : NULL,
		.emu_trace = timeline_active ? timeline_emu_cmd : NULL,
		.trace_arg = timeline_active,
		.device = o->device[0] ? o->device : NULL,
	};
	int ret;

	memset(x, 0, sizeof(*x));
	x->o = o;
	pthread_mutex_init(&x->lock, NULL);
	for (int i = 0; i < NSLOT; i++)
		pthread_mutex_init(&x->s[i].token, NULL);
	ret = platform_open_opts(&o->profile, o->driver[0] ? o->driver : "emu", &po, &x->pl, err,
				 len);
	if (ret)
		return ret;
	if (plain_lru) {
		struct vidmm_config cfg = x->pl.cfg;
		cfg.evict_plain_lru = true;
		vidmm_destroy(x->pl.vm);
		x->pl.vm = NULL;
		ret = vidmm_init(&cfg, &x->pl.vm);
		if (ret) {
			snprintf(err, len, "vidmm_init (plain LRU): %s", vidmm_init_error());
			platform_close(&x->pl);
			return ret;
		}
		x->pl.cfg = cfg;
	}
	x->open = true;
	vidmm_query_segments(x->pl.vm, x->seg, VIDMM_MAX_SEGMENTS, &x->nseg);
	x->pl.ops->query_engines(x->pl.chip_ctx, &x->eng);
	x->has_swap = vidmm_debug_swap_fd(x->pl.vm) >= 0;
	x->next_id = 1;
	struct vidmm_stats st;
	if (vidmm_query_stats(x->pl.vm, &st) == 0)
		x->base_pages = st.sysmem_pages_used;
	return 0;
}

/* Destroy what the program left, then check: nothing may be left over. */
static void exec_close(struct exec *x, uint32_t n)
{
	if (!x->open)
		return;
	for (uint32_t i = 0; x->pl.emu && i < x->eng.n_copy + x->eng.n_job; i++)
		emu_reset_engine(x->pl.emu, i);
	vidmm_wait_idle(x->pl.vm, WAIT_NS);
	for (int i = 0; i < NSLOT; i++) {
		struct slot *sl = &x->s[i];
		while (sl->h && sl->locks) {
			int u = vidmm_unlock(x->pl.vm, sl->h);
			if (u) {
				/* The model and the manager disagree: say so here,
				 * not as the destroy's -EBUSY below. */
				finding(x, FAIL_SITUATION, n, "teardown: unlock %u of slot %d's "
					"allocation failed: %d (%s)", sl->locks, i, u, vidmm_strerror(u));
				break;
			}
			sl->locks--;
		}
		int dr = sl->h ? vidmm_destroy_allocation(x->pl.vm, sl->h) : 0;
		if (dr)
			finding(x, FAIL_SITUATION, n, "teardown: destroy of slot %d's live allocation "
				"failed: %d (%s)", i, dr, vidmm_strerror(dr));
		sl->h = 0;
	}
	for (uint32_t i = 0; i < x->nleaked; i++) {
		void *cpu;
		/* a leaked one may still be locked: unlock until refused */
		while (vidmm_unlock(x->pl.vm, x->leaked[i]) == 0)
			;
		(void)cpu;
		vidmm_destroy_allocation(x->pl.vm, x->leaked[i]);
	}
	vidmm_wait_idle(x->pl.vm, WAIT_NS);
	struct vidmm_stats st;
	int qs = vidmm_query_stats(x->pl.vm, &st);
	/* With several threads the background reclaim thread runs: a swap-out
	 * batch it started before the destroys holds its victims' pages until
	 * its I/O completes (slow under TSan). Pages must come back, so wait a
	 * bounded time for them before calling it a leak. */
	for (int i = 0; i < 500 && qs == 0 && !x->failed && !st.allocations &&
			st.sysmem_pages_used != x->base_pages; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		vidmm_wait_idle(x->pl.vm, WAIT_NS);
		qs = vidmm_query_stats(x->pl.vm, &st);
	}
	if (qs == 0 && !x->failed && (st.allocations || st.sysmem_pages_used != x->base_pages))
		finding(x, FAIL_SITUATION, n, "teardown: %" PRIu64 " allocations and %" PRId64
			" system pages left after destroying everything", st.allocations,
			(int64_t)(st.sysmem_pages_used - x->base_pages));
	if (!x->failed)
		check_after(x, n, &(struct fop){ .orig = n, .kind = K_STATS });
	platform_close(&x->pl);
	x->open = false;
	for (int i = 0; i < NSLOT; i++)
		pthread_mutex_destroy(&x->s[i].token);
	pthread_mutex_destroy(&x->lock);
}

/* Run prog[0..n) once, single-threaded. The finding (if any) is in *x
 * afterwards (fail_kind, fail_op, why); rec (n entries, or NULL) gets every
 * call's record. */
static int exec_program(const struct fuzz_opts *o, enum vidmm_paging_mode mode, bool plain_lru,
			const struct fop *prog, uint32_t n, struct callrec *rec,
			struct fuzz_stats *st, struct exec *x, char *err, size_t len)
{
	int ret = exec_open(x, o, mode, plain_lru, err, len);

	if (ret)
		return ret;
	x->rec = rec;
	x->st = st;
	if (o->inject.n) {
		x->faults_armed = true;
		inject_arm_rates(&o->inject, &x->pl, o->seed,
				 3 * (o->fence_timeout_ns ? o->fence_timeout_ns : 2000000000ull) / 2);
	}
	for (uint32_t i = 0; i < n && !x->failed; i++) {
		if (rec)
			memset(&rec[i], 0, sizeof(rec[i]));
		step(x, i, &prog[i]);
		if (!x->failed)
			check_after(x, i, &prog[i]);
	}
	exec_close(x, n);
	if (st)
		st->executions++;
	return 0;
}

/* ---- generating programs ----------------------------------------------------------- */

struct rng { uint64_t s; };

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rnd(r) * n) >> 64);
}

/* A source of decisions: a seeded stream, or a libFuzzer input. */
struct src {
	struct rng r;
	const uint8_t *data;
	size_t size, at;
	/* The generator's guess of which slots are live (creates succeed,
	 * destroys succeed): calls aim at those nine times in ten, so a
	 * program spends its calls on allocations rather than on -EBADF. The
	 * guess only steers choices; the model decides what is legal. */
	uint32_t live;
};


static uint64_t pick(struct src *s, uint64_t n)
{
	if (!n)
		return 0;
	if (!s->data)
		return below(&s->r, n);
	uint64_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | (s->at < s->size ? s->data[s->at++] : 0);
	return v % n;
}

static uint64_t pick64(struct src *s)
{
	if (!s->data)
		return rnd(&s->r);
	return pick(s, 1ull << 32) << 32 | pick(s, 1ull << 32);
}

static uint8_t pick_slot(struct src *s)
{
	if (s->live && pick(s, 10)) {
		uint32_t n = (uint32_t)__builtin_popcount(s->live), k = (uint32_t)pick(s, n);
		for (uint8_t i = 0; i < NSLOT; i++)
			if ((s->live >> i) & 1 && !k--)
				return i;
	}
	return (uint8_t)pick(s, NSLOT);
}

static const uint32_t weights[FUZZ_KINDS] = {
	[K_CREATE] = 12, [K_DESTROY] = 7, [K_SUBMIT] = 38, [K_WAIT_IDLE] = 1, [K_LOCK] = 8,
	[K_UNLOCK] = 8, [K_CPU_WRITE] = 4, [K_EVICT] = 6, [K_SWAP_OUT] = 5, [K_QUERY] = 3,
	[K_STATS] = 2, [K_FAULT] = 2,
};

static void gen_op(struct src *s, const struct fuzz_opts *o, uint32_t orig, struct fop *f)
{
	uint32_t total = 0, w;

	memset(f, 0, sizeof(*f));
	f->orig = orig;
	for (int k = 0; k < FUZZ_KINDS; k++)
		total += k == K_FAULT && !o->fault_calls ? 0 : weights[k];
	w = (uint32_t)pick(s, total);
	for (int k = 0; k < FUZZ_KINDS; k++) {
		uint32_t wk = k == K_FAULT && !o->fault_calls ? 0 : weights[k];
		if (w < wk) {
			f->kind = (uint8_t)k;
			break;
		}
		w -= wk;
	}
	f->slot = f->kind == K_CREATE ? (uint8_t)pick(s, NSLOT) : pick_slot(s);
	f->seed = pick64(s) | 1;
	switch (f->kind) {
	case K_CREATE: {
		/* log-uniform 4 KiB .. 1 MiB, sometimes odd, rarely absurd */
		unsigned shift = 12 + (unsigned)pick(s, 9);
		f->size = (1ull << shift) + pick(s, 1ull << shift);
		if (pick(s, 50) == 0)
			f->size = pick(s, 3) == 0 ? 0 : 1ull << (30 + pick(s, 20));
		f->align = pick(s, 6) == 0 ? 1ull << (12 + pick(s, 12)) : 0;
		if (pick(s, 60) == 0)
			f->align = 3 << 12;
		f->prio = (uint8_t)pick(s, VIDMM_PRIO_COUNT + (pick(s, 40) == 0));
		static const uint32_t fl[] = { 0, 0, 0, VIDMM_ALLOC_CPU_VISIBLE, VIDMM_ALLOC_LOCAL_ONLY,
					       VIDMM_ALLOC_TOP_DOWN, VIDMM_ALLOC_UNPAGABLE,
					       VIDMM_ALLOC_CPU_VISIBLE | VIDMM_ALLOC_TOP_DOWN,
					       VIDMM_ALLOC_LOCAL_ONLY | VIDMM_ALLOC_CPU_VISIBLE,
					       1u << 7 };
		/* the last entry, an unknown flag, a third as often as the rest */
		f->flags = fl[pick(s, 3 * (sizeof(fl) / sizeof(fl[0])) - 2) / 3];
		f->npref = (uint8_t)(pick(s, 3) == 0 ? 1 + pick(s, 3) : 0);
		/* Mostly distinct ids of the four segments every small profile has
		 * (a rejected create teaches little); now and then any id. */
		uint32_t base = (uint32_t)pick(s, 4);
		bool odd = false;
		for (int i = 0; i < f->npref; i++) {
			bool any = pick(s, 8) == 0;
			f->pref[i] = any ? (uint32_t)pick(s, 7) : (base + (uint32_t)i) % 4;
			odd |= any;
		}
		/* Which slots later calls aim at: a create that is surely refused
		 * leaves its slot empty (the old allocation is destroyed first). */
		odd |= !f->size || f->size >= (1ull << 30) || f->prio >= VIDMM_PRIO_COUNT ||
		       f->flags == (1u << 7) || f->align == (3 << 12);
		if (odd)
			s->live &= ~(1u << f->slot);
		else
			s->live |= 1u << f->slot;
		break;
	}
	case K_SUBMIT: {
		static const uint8_t ops[] = { VIDMM_JOB_FILL, VIDMM_JOB_FILL, VIDMM_JOB_VERIFY,
					       VIDMM_JOB_VERIFY, VIDMM_JOB_CHECKSUM, VIDMM_JOB_COPY,
					       VIDMM_JOB_TOUCH };
		f->jop = ops[pick(s, sizeof(ops))];
		/* mostly one or two: every ref must be live for the job to run */
		f->nref = (uint8_t)(f->jop == VIDMM_JOB_COPY ? 2
				    : 1 + (pick(s, 4) == 0 ? pick(s, NREF) : pick(s, 2)));
		for (int i = 0; i < f->nref; i++) {
			f->ref[i] = pick_slot(s);
			f->acc[i] = f->jop == VIDMM_JOB_FILL || (f->jop == VIDMM_JOB_COPY && i == 1)
					    ? VIDMM_ACCESS_WRITE : VIDMM_ACCESS_READ;
			if (pick(s, 4) == 0)
				f->acc[i] |= VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE;
		}
		/* VERIFY and CHECKSUM are most useful on what is known */
		if (pick(s, 40) == 0) {
			static const uint8_t inval[] = { 0, 1, 2, 3 };
			switch (inval[pick(s, 4)]) {
			case 0: f->nref = 0; break;
			case 1: f->jop = 9; break;
			case 2: f->engine = 7; break;
			default: f->acc[0] = 0; break;
			}
		}
		f->variant = (uint8_t)(pick(s, 30) == 0 ? 1 + pick(s, 2) : 0);
		break;
	}
	case K_DESTROY:
		f->variant = (uint8_t)(pick(s, 8) == 0 ? 1 + pick(s, 3) : 0);
		if (f->variant != 1 && f->variant != 2)
			s->live &= ~(1u << f->slot);
		break;
	case K_QUERY:
		/* half on an allocation, the rest the other queries */
		f->jop = (uint8_t)(pick(s, 2) ? 0 : 1 + pick(s, 4));
		/* fall through */
	case K_LOCK:
	case K_UNLOCK:
	case K_EVICT:
	case K_SWAP_OUT:
		f->variant = (uint8_t)(pick(s, 15) == 0 ? 1 + pick(s, 2) : 0);
		break;
	case K_FAULT:
		f->variant = (uint8_t)pick(s, F_KINDS);
		break;
	default:
		break;
	}
}

static struct fop *gen_program(uint64_t seed, const struct fuzz_opts *o, uint32_t n)
{
	struct src s = { .r = { seed } };
	struct fop *p = calloc(n ? n : 1, sizeof(*p));

	if (!p)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		gen_op(&s, o, i + 1, &p[i]);
	return p;
}

/* ---- differential ------------------------------------------------------------------ */

/*
 * The same program with the other paging mode: every call must return the
 * same (the mode changes how data moves, never what is decided). With
 * plain-LRU eviction: every call whose result the model fixes.
 */
static int differential(const struct fuzz_opts *o, const struct fop *prog, uint32_t n,
			struct fuzz_stats *st, struct exec *out, char *err, size_t len)
{
	struct callrec *a = calloc(n ? n : 1, sizeof(*a)), *b = calloc(n ? n : 1, sizeof(*b));
	enum vidmm_paging_mode other = o->mode == VIDMM_PAGING_BOUNCE ? VIDMM_PAGING_WINDOW
								     : VIDMM_PAGING_BOUNCE;
	struct exec x;
	int ret = -ENOMEM;

	if (!a || !b)
		goto out;
	ret = exec_program(o, o->mode, false, prog, n, a, NULL, &x, err, len);
	if (ret)
		goto out;
	if (x.failed) {
		*out = x;
		goto done;
	}
	for (int v = 0; v < 2 && !out->failed; v++) {
		ret = exec_program(o, v == 0 ? other : o->mode, v == 1, prog, n, b, NULL, &x, err, len);
		if (ret)
			goto out;
		if (x.failed) {
			*out = x;
			break;
		}
		for (uint32_t i = 0; i < n; i++) {
			/* After a fault, results depend on when the engines got to
			 * what the fault hit (a failed clear is issued again, a late
			 * copy lands when it lands): nothing more to compare. */
			if (prog[i].kind == K_FAULT || o->inject.n)
				break;
			/* The other paging mode: every call. Plain LRU: those
			 * whose result the model fixes in both. */
			bool must_match = v == 0 || (a[i].must && b[i].must);
			if (!must_match)
				continue;
			if (a[i].ret != b[i].ret || a[i].has_result != b[i].has_result ||
			    (a[i].has_result && a[i].result != b[i].result)) {
				out->failed = true;
				out->fail_kind = FAIL_DIFF;
				out->fail_op = i;
				snprintf(out->why, sizeof(out->why),
					 "call %u (%s): %s returns %d, %s returns %d%s",
					 prog[i].orig, kind_names[prog[i].kind],
					 o->mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window", a[i].ret,
					 v == 0 ? (other == VIDMM_PAGING_BOUNCE ? "bounce" : "window")
						: "plain-LRU eviction", b[i].ret,
					 a[i].has_result ? " (or the job results differ)" : "");
				break;
			}
		}
		if (st)
			st->differential_runs++;
	}
done:
	ret = 0;
out:
	free(a);
	free(b);
	return ret;
}

/* ---- minimizing ----------------------------------------------------------------------- */

struct sig {
	int kind;
	uint8_t op_kind;
};

/* Does prog[0..n) still fail the same way? */
static bool still_fails(const struct fuzz_opts *o, const struct fop *prog, uint32_t n,
			struct sig want, bool diff)
{
	struct exec x;
	char err[256];

	if (diff) {
		x.failed = false;
		if (differential(o, prog, n, NULL, &x, err, sizeof(err)))
			return false;
	} else if (exec_program(o, o->mode, false, prog, n, NULL, NULL, &x, err, sizeof(err))) {
		return false;
	}
	return x.failed && x.fail_kind == want.kind && prog[x.fail_op].kind == want.op_kind;
}

/*
 * ddmin (Zeller): remove chunks of the program while it still fails the same
 * way, halving the chunk size down to single calls; then a last pass of
 * single calls. The failing call is never removed (everything after it was
 * cut before).
 */
static uint32_t minimize(const struct fuzz_opts *o, struct fop *prog, uint32_t n, struct sig want,
			 bool diff, double budget_s)
{
	struct fop *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	struct timespec t0, t1;
	uint32_t chunk = n / 2 ? n / 2 : 1;

	if (!tmp)
		return n;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n > 1) {
		bool removed = false;
		for (uint32_t start = 0; start + 1 < n;) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec) >
			    budget_s)
				goto done;
			uint32_t len = chunk;
			if (start + len > n - 1)
				len = n - 1 - start; /* keep the last (failing) call */
			if (!len)
				break;
			uint32_t m = 0;
			for (uint32_t i = 0; i < n; i++)
				if (i < start || i >= start + len)
					tmp[m++] = prog[i];
			if (still_fails(o, tmp, m, want, diff)) {
				memcpy(prog, tmp, m * sizeof(*prog));
				n = m;
				removed = true;
			} else {
				start += len;
			}
		}
		if (chunk == 1 && !removed)
			break;
		if (chunk > 1)
			chunk /= 2;
	}
done:
	free(tmp);
	return n;
}

/* ---- the reproducer ---------------------------------------------------------------------- */

static void trace_content(FILE *f, const struct content *c)
{
	fputc('[', f);
	for (uint32_t i = 0; i < c->n; i++)
		fprintf(f, "%s[%" PRIu64 ",%u,%" PRId64 "]", i ? "," : "", c->r[i].len, c->r[i].kind,
			(int64_t)c->r[i].seed);
	fputc(']', f);
}

/* The inject kind a fault call arms (bench/inject.h), for the reproducer. */
static int fault_inject_kind(unsigned v)
{
	static const int map[F_KINDS] = { INJ_COPY_FAIL, INJ_LATE, INJ_JOB_FAIL, INJ_SWAP_WRITE,
					  INJ_SWAP_READ, INJ_SWAP_WRITE, -1 };
	return map[v % F_KINDS];
}

/*
 * The program as a trace (bench/trace.h): every call with the result the
 * model fixed (else the one seen), VERIFY and CHECKSUM jobs with the result
 * the model expects, CPU reads ("V") with the contents the model expects,
 * CPU writes ("W"), faults ("F"), and "check_each" so replay runs
 * vidmm_check after every call. The footer carries no counters: a replay of
 * it fails exactly when one of those checks fails.
 */
static int write_repro(const char *path, const struct fuzz_opts *o, const struct fop *prog,
		       uint32_t n, char *err, size_t len)
{
	struct callrec *rec = calloc(n ? n : 1, sizeof(*rec));
	uint64_t ids[NSLOT] = { 0 }, dead[NSLOT] = { 0 }, next_id = 1;
	uint32_t locks[NSLOT] = { 0 };
	struct exec x;
	FILE *f;

	if (!rec) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	/* One more run to learn every call's record (the failure included). */
	exec_program(o, o->mode, false, prog, n, rec, NULL, &x, err, len);
	f = fopen(path, "w");
	if (!f) {
		int e = errno;
		snprintf(err, len, "cannot write the reproducer %.160s: %s", path, strerror(e));
		free(rec);
		return -e;
	}
	json_t *h = json_pack("{s:i,s:i,s:s,s:s,s:I,s:i,s:b,s:s,s:s,s:s,s:o,s:{},s:b}",
			      "vidmm_trace", 1,
			      "policy", VIDMM_POLICY_VERSION,
			      "evict_policy", o->evict_policy[0] ? o->evict_policy : "lru",
			      "workload", "fuzz",
			      "seed", (json_int_t)o->seed, "threads", 1, "verify", true,
			      "paging_mode", o->mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
			      "paging", o->pipelined ? "pipelined" : "sync",
			      "driver", o->driver[0] ? o->driver : "emu", "profile", metrics_profile_json(&o->profile),
			      "params", "check_each", true);
	char *hs = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	fprintf(f, "%s\n", hs ? hs : "{}");
	free(hs);
	for (uint32_t i = 0; i < n; i++) {
		const struct fop *p = &prog[i];
		const struct callrec *r = &rec[i];
		unsigned sl = p->slot % NSLOT;
		/* id 0 is never created: a forged handle */
		uint64_t id = p->variant == 1 ? dead[sl] : p->variant == 2 ? 0 : ids[sl];
		int want = r->must ? r->expect : r->ret;
		switch (p->kind) {
		case K_CREATE:
			if (ids[sl]) {
				/* do_create replaces a live slot's allocation */
				fprintf(f, "[\"d\",%" PRIu64 ",%d]\n", ids[sl], locks[sl] ? -EBUSY : 0);
				if (!locks[sl])
					dead[sl] = ids[sl];
				ids[sl] = 0;
				locks[sl] = 0;
			}
			fprintf(f, "[\"c\",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%u,[", next_id,
				p->size, p->align, p->prio, p->flags);
			for (int k = 0; k < p->npref; k++)
				fprintf(f, "%s%u", k ? "," : "", p->pref[k]);
			fprintf(f, "],%d]\n", want);
			if (want == 0)
				ids[sl] = next_id;
			next_id++;
			break;
		case K_DESTROY:
			fprintf(f, "[\"d\",%" PRIu64 ",%d]\n", p->variant == 3 ? ids[sl] : id, want);
			if (want == 0 && (p->variant == 0 || p->variant == 3)) {
				if (p->variant == 3)
					fprintf(f, "[\"d\",%" PRIu64 ",%d]\n", ids[sl], -EBADF);
				dead[sl] = ids[sl];
				ids[sl] = 0;
			}
			break;
		case K_SUBMIT:
			fprintf(f, "[\"s\",%u,%" PRId64 ",%u,[", p->jop, (int64_t)p->seed, p->engine);
			for (int k = 0; k < p->nref; k++) {
				unsigned rs = p->ref[k] % NSLOT;
				uint64_t rid = k == 0 && p->variant == 1 ? dead[rs]
					     : k == 0 && p->variant == 2 ? 0 : ids[rs];
				fprintf(f, "%s[%" PRIu64 ",%u]", k ? "," : "", rid, p->acc[k]);
			}
			if (r->has_result)
				fprintf(f, "],%d,%" PRId64 "]\n", want, (int64_t)r->result);
			else
				fprintf(f, "],%d]\n", want);
			break;
		case K_LOCK:
			fprintf(f, "[\"l\",%" PRIu64 ",%d]\n", id, want);
			if (want == 0 && p->variant == 0)
				locks[sl]++;
			if (r->cpu_checked && want == 0) {
				/* what the CPU must read right after that lock */
				fprintf(f, "[\"V\",%" PRIu64 ",", id);
				trace_content(f, &r->cpu);
				fprintf(f, ",0]\n");
			}
			break;
		case K_UNLOCK:
		case K_EVICT:
		case K_SWAP_OUT:
			fprintf(f, "[\"%c\",%" PRIu64 ",%d]\n",
				p->kind == K_UNLOCK ? 'u' : p->kind == K_EVICT ? 'e' : 'o', id, want);
			if (p->kind == K_UNLOCK && want == 0 && p->variant == 0 && locks[sl])
				locks[sl]--;
			break;
		case K_CPU_WRITE:
			if (ids[sl]) {
				if (r->cpu_checked && r->ret == 0) {
					fprintf(f, "[\"V\",%" PRIu64 ",", ids[sl]);
					trace_content(f, &r->cpu);
					fprintf(f, ",0]\n");
				}
				fprintf(f, "[\"W\",%" PRIu64 ",%" PRId64 ",%d]\n", ids[sl],
					(int64_t)p->seed, r->ret);
			}
			break;
		case K_FAULT:
			if (fault_inject_kind(p->variant) >= 0)
				fprintf(f, "[\"F\",0,\"%s\",%" PRId64 "]\n",
					inject_kind_name((enum inject_kind)fault_inject_kind(p->variant)),
					(int64_t)p->seed);
			break;
		default:
			break; /* queries change nothing */
		}
	}
	json_t *w = json_pack("{s:{s:i,s:b,s:s}}", "end", "ops", (int)n, "fuzz", true, "finding",
			      x.failed ? x.why : "");
	char *ws = json_dumps(w, JSON_COMPACT);
	json_decref(w);
	fprintf(f, "%s\n", ws ? ws : "{}");
	free(ws);
	int ret = fclose(f) ? -errno : 0;
	free(rec);
	return ret;
}

/* ---- threaded mode ------------------------------------------------------------------------ */

struct tctx {
	struct exec *x;
	const struct fuzz_opts *o;
	unsigned idx;
	uint64_t seed;
	atomic_bool *stop;
	uint64_t calls;
};

/*
 * A thread's calls on the shared slots: every call that changes or reads
 * contents takes the slots' tokens (try-lock: a taken one is skipped, so
 * threads never wait for each other), which keeps the model exact; evict,
 * swap-out and queries take none, on whatever handle a slot has then.
 */
static void *thread_main(void *arg)
{
	struct tctx *t = arg;
	struct src s = { .r = { t->seed } };
	struct fop f;
	char name[16];

	snprintf(name, sizeof(name), "vidmm-fuzz%u", t->idx % 1000u);
	pthread_setname_np(pthread_self(), name);

	for (uint32_t i = 1; !atomic_load(t->stop) && !t->x->failed; i++) {
		gen_op(&s, t->o, i, &f);
		if (f.kind == K_FAULT || f.kind == K_STATS || f.kind == K_WAIT_IDLE)
			continue; /* global: they would race with the model */
		uint8_t held[NREF + 1];
		unsigned nh = 0;
		bool ok = true;
		uint8_t want[NREF + 1];
		unsigned nw = 0;
		if (f.kind == K_SUBMIT)
			for (int k = 0; k < f.nref; k++)
				want[nw++] = f.ref[k] % NSLOT;
		else if (f.kind != K_EVICT && f.kind != K_SWAP_OUT && f.kind != K_QUERY)
			want[nw++] = f.slot % NSLOT;
		for (unsigned k = 0; k < nw && ok; k++) {
			bool dup = false;
			for (unsigned q = 0; q < nh; q++)
				dup |= held[q] == want[k];
			if (dup)
				continue;
			if (pthread_mutex_trylock(&t->x->s[want[k]].token)) {
				ok = false;
				break;
			}
			held[nh++] = want[k];
		}
		if (ok) {
			/* The call runs with its slots' tokens: single-threaded as
			 * far as the model of those slots goes. */
			if (f.kind == K_EVICT || f.kind == K_SWAP_OUT || f.kind == K_QUERY) {
				/* No token: another thread may destroy it meanwhile. */
				struct slot *sl = &t->x->s[f.slot % NSLOT];
				vidmm_handle_t h = __atomic_load_n(&sl->h, __ATOMIC_RELAXED);
				int ret = f.kind == K_EVICT ? vidmm_evict(t->x->pl.vm, h)
					: f.kind == K_SWAP_OUT ? vidmm_swap_out(t->x->pl.vm, h)
							       : vidmm_query_allocation(t->x->pl.vm, h,
								&(struct vidmm_alloc_info){ 0 });
				enum vidmm_call call = f.kind == K_EVICT ? CALL_EVICT
						     : f.kind == K_SWAP_OUT ? CALL_SWAP_OUT
									    : CALL_QUERY_ALLOC;
				count_ret_at(t->x, 0, f.kind, ret);
				if (!contract_errno_ok(call, ret))
					finding(t->x, FAIL_ERRNO, 0, "thread %u call %u (%s): %d (%s) "
						"undocumented", t->idx, i, kind_names[f.kind], ret,
						vidmm_strerror(ret));
			} else {
				step(t->x, 0, &f);
			}
			if (!t->x->failed && (i & 7) == 0)
				check_after(t->x, 0, &f);
			t->calls++;
		}
		for (unsigned k = 0; k < nh; k++)
			pthread_mutex_unlock(&t->x->s[held[k]].token);
	}
	return NULL;
}

static int run_threaded(const struct fuzz_opts *o, struct fuzz_stats *st, double secs,
			uint64_t seed, char *err, size_t len)
{
	struct exec x;
	pthread_t th[64];
	struct tctx t[64];
	atomic_bool stop = false;
	unsigned n = o->threads > 64 ? 64 : o->threads;
	int ret = exec_open(&x, o, o->mode, false, err, len);

	if (ret)
		return ret;
	x.st = st;
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct tctx){ .x = &x, .o = o, .idx = i, .seed = seed + 0x9e37ull * (i + 1),
				      .stop = &stop };
		pthread_create(&th[i], NULL, thread_main, &t[i]);
	}
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	/* A slot's lock count changed only under its token: it is exact here,
	 * and exec_close unlocks that many times before the destroy. */
	exec_close(&x, 0);
	st->executions++;
	if (x.failed && !st->found) {
		st->found = true;
		snprintf(st->finding, sizeof(st->finding), "%s: %.380s (seed %" PRIu64 ", %u threads: "
			 "not minimized, interleavings do not replay)", fail_names[x.fail_kind], x.why,
			 seed, n);
		st->finding_seed = seed;
	}
	return 0;
}

/* ---- the driver ---------------------------------------------------------------------------- */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fuzz_run(const struct fuzz_opts *o, struct fuzz_stats *st, char *err, size_t len)
{
	double t0 = mono_s(), last = t0;
	uint32_t n = o->calls ? o->calls : 200;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	if (o->threads > 1) {
		/* One long shared execution per run, a second or so each. */
		for (uint64_t run = 0; !st->found; run++) {
			double left = o->time_s ? o->time_s - (mono_s() - t0) : 2.0;
			if ((o->time_s && left <= 0) || (o->runs && run >= o->runs) ||
			    (!o->time_s && !o->runs && run >= 1))
				break;
			ret = run_threaded(o, st, left < 5.0 ? left : 5.0, o->seed + run, err, len);
			if (ret)
				return ret;
			if (o->progress)
				fprintf(stderr, "\rfuzz: %" PRIu64 " runs, %" PRIu64 " calls (%.0f/s)\033[K",
					st->executions, st->calls, (double)st->calls / (mono_s() - t0));
		}
		st->secs = mono_s() - t0;
		if (o->progress)
			fprintf(stderr, "\r\033[K");
		return 0;
	}
	for (uint64_t run = 0;; run++) {
		if ((o->time_s && mono_s() - t0 >= o->time_s) || (o->runs && run >= o->runs) ||
		    (!o->time_s && !o->runs && run >= 100))
			break;
		uint64_t seed = o->seed + run;
		struct fop *prog = gen_program(seed, o, n);
		struct exec x;
		if (!prog) {
			snprintf(err, len, "out of memory");
			return -ENOMEM;
		}
		struct fuzz_opts oo = *o;
		oo.seed = seed;
		ret = exec_program(&oo, o->mode, false, prog, n, NULL, st, &x, err, len);
		bool diff = false;
		if (!ret && !x.failed && o->differential) {
			ret = differential(&oo, prog, n, st, &x, err, len);
			diff = x.failed;
		}
		if (ret) {
			free(prog);
			return ret;
		}
		if (x.failed) {
			struct sig want = { x.fail_kind, prog[x.fail_op].kind };
			uint32_t m = x.fail_op + 1; /* nothing after the failure matters */
			st->found = true;
			st->finding_seed = seed;
			st->original_len = m;
			snprintf(st->finding, sizeof(st->finding), "%s: %.480s", fail_names[x.fail_kind],
				 x.why);
			if (o->progress)
				fprintf(stderr, "\rfuzz: found after %" PRIu64 " programs: %s\n"
					"fuzz: minimizing %u calls...\033[K", st->executions, st->finding, m);
			m = minimize(&oo, prog, m, want, diff, 120.0);
			st->minimized_len = m;
			if (o->repro)
				snprintf(st->repro, sizeof(st->repro), "%s", o->repro);
			else
				snprintf(st->repro, sizeof(st->repro), "fuzz-%" PRIu64 ".trace", seed);
			char werr[256];
			if (write_repro(st->repro, &oo, prog, m, werr, sizeof(werr)))
				snprintf(st->repro + strlen(st->repro), sizeof(st->repro) - strlen(st->repro),
					 " (not written: %s)", werr);
			free(prog);
			break;
		}
		free(prog);
		double now = mono_s();
		if (o->progress && now - last > 0.25) {
			last = now;
			fprintf(stderr, "\rfuzz: %" PRIu64 " programs, %" PRIu64 " calls, %.1f programs/s, "
				"%.0f calls/s, %" PRIu64 " content checks\033[K", st->executions, st->calls,
				(double)st->executions / (now - t0), (double)st->calls / (now - t0),
				st->content_checks);
		}
	}
	st->secs = mono_s() - t0;
	if (o->progress)
		fprintf(stderr, "\r\033[K");
	return 0;
}

void fuzz_default_profile(struct vidmm_profile *p)
{
	/* Small: every few calls something must be paged or swapped. */
	vidmm_profile_builtin("tiny", p);
	snprintf(p->name, sizeof(p->name), "fuzz-small");
	p->local_visible = 4u << 20;
	p->local_invisible = 8u << 20;
	p->pcie_snooped = p->pcie_unsnooped = 8u << 20;
	p->paging = 2u << 20;
	p->sysmem = 24u << 20;
	p->swap = 32u << 20;
}

int fuzz_one_input(const uint8_t *data, size_t size, char *why, size_t len)
{
	static struct fuzz_opts o;
	static bool init;
	struct src s = { .data = data, .size = size };
	struct fop prog[256];
	uint32_t n = 0;
	struct exec x;
	char err[256];

	if (!init) {
		fuzz_default_profile(&o.profile);
		o.threads = 1;
		o.fault_calls = true;
		/* Shorter than the CLI's 100 ms: an injected late or hung command
		 * costs one timeout, and libFuzzer lives on executions per second. A
		 * timeout is a legal result, never a finding. */
		o.fence_timeout_ns = 20000000ull;
		init = true;
	}
	if (!size)
		return 0;
	/* The first byte picks the paging mode, the eviction policy and
	 * pipelined paging; then calls until the input runs out, at most 256. */
	enum vidmm_paging_mode mode = data[0] & 1 ? VIDMM_PAGING_BOUNCE : VIDMM_PAGING_WINDOW;
	bool plain_lru = data[0] & 2;
	o.pipelined = data[0] & 4;
	s.at = 1;
	while (n < 256 && s.at + 4 <= size)
		gen_op(&s, &o, n + 1, &prog[n]), n++;
	if (exec_program(&o, mode, plain_lru, prog, n, NULL, NULL, &x, err, sizeof(err)))
		return 0;
	if (!x.failed)
		return 0;
	snprintf(why, len, "%s: %s", fail_names[x.fail_kind], x.why);
	return 1;
}

void *fuzz_results_json(const struct fuzz_opts *o, const struct fuzz_stats *st)
{
	json_t *byk = json_object(), *rets = json_object();

	for (int k = 0; k < FUZZ_KINDS; k++) {
		json_object_set_new(byk, kind_names[k], json_integer((json_int_t)st->calls_by_kind[k]));
		json_t *r = json_object();
		for (int e = 0; e < 160; e++) {
			if (!st->rets[k][e])
				continue;
			char name[48];
			const char *en = e ? strerrorname_np(e) : NULL;
			if (e == 0)
				snprintf(name, sizeof(name), "0");
			else if (en && e < 159)
				snprintf(name, sizeof(name), "-%s", en);
			else
				snprintf(name, sizeof(name), "other");
			json_object_set_new(r, name, json_integer((json_int_t)st->rets[k][e]));
		}
		json_object_set_new(rets, kind_names[k], r);
	}
	json_t *f = json_pack("{s:I,s:i,s:I,s:s,s:b,s:f,s:I,s:I,s:f,s:f,s:I,s:I,s:o,s:o}",
		"seed", (json_int_t)o->seed, "threads", (int)o->threads,
		"calls_per_program", (json_int_t)(o->calls ? o->calls : 200),
		"paging_mode", o->mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
		"differential", o->differential, "time_s", st->secs,
		"executions", (json_int_t)st->executions, "calls", (json_int_t)st->calls,
		"executions_per_sec", st->secs > 0 ? (double)st->executions / st->secs : 0.0,
		"calls_per_sec", st->secs > 0 ? (double)st->calls / st->secs : 0.0,
		"content_checks", (json_int_t)st->content_checks,
		"differential_runs", (json_int_t)st->differential_runs,
		"calls_by_kind", byk, "returns_by_kind", rets);
	json_object_set_new(f, "profile", json_string(o->profile.name));
	json_object_set_new(f, "paging", json_string(o->pipelined ? "pipelined" : "sync"));
	if (st->found) {
		json_object_set_new(f, "finding", json_pack("{s:s,s:I,s:i,s:i,s:s}", "what", st->finding,
			"seed", (json_int_t)st->finding_seed, "calls", (int)st->original_len,
			"minimized_calls", (int)st->minimized_len, "reproducer", st->repro));
	} else {
		json_object_set_new(f, "finding", json_null());
	}
	return f;
}

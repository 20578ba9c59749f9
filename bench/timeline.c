/* SPDX-License-Identifier: MIT */
/*
 * timeline.c - `--timeline FILE` (see timeline.h for what the file holds).
 *
 * Owns: per-thread rings of fixed-size records, the drain thread, the raw
 * temporary file, and the conversion to trace-event JSON.
 * Must not: take a lock on an event's path once the thread's ring exists,
 * allocate there except when the drain thread has fallen a whole chunk
 * behind, or hold tl->lock while a producer could need it (producers take it
 * only to register their ring).
 *
 * Locking: tl->lock guards the ring list and the thread names; a ring is a
 * single-producer single-consumer queue of chunks (its thread writes head
 * and links new chunks, the drain thread writes tail and unlinks consumed
 * ones), so pushing an event is two atomic loads, a copy and a release
 * store. A ring whose thread has exited (the pthread key's destructor marks
 * it) is freed by the drain thread once empty, so a suite's hundreds of
 * short-lived threads do not pile up rings.
 *
 * Memory: one chunk of 4096 records (256 KiB) per live thread, and one spare
 * the drain thread hands back. The drain thread empties the rings every
 * 20 ms, or at once when one is half full or grows a chunk, into an unnamed
 * temporary file. When it cannot keep up (on a loaded machine it can go
 * unscheduled for tens of milliseconds, and a fixed ring then dropped
 * thousands of events), a thread links a new chunk rather than drop, up to
 * MAX_EXTRA_CHUNKS (64 MiB) for all threads together. Only past that are
 * events lost, counted per ring and written in the file's metadata
 * (vidmm_dropped_events): a timeline never claims to be complete when it is
 * not.
 */
#include "timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "contract.h"
#include "rfile.h"

#define CHUNK_RECS 4096u
#define MAX_EXTRA_CHUNKS 256u
#define DRAIN_PERIOD_NS (20ull * 1000 * 1000)
#define RUNS_TID 1u /* the "runs" track: no real thread has tid 1 here */
/* At most this many events in a file (256 MiB of records while converting):
 * past it events are dropped and counted, so a long fuzz session cannot fill
 * the disk or the memory. */
#define MAX_EVENTS (4ull << 20)

enum src {
	SRC_CORE = 1, /* kind: vidmm_trace_kind */
	SRC_EMU,      /* a0 engine | type << 8 | (uint32_t)err << 32, a1 fence, a2 bytes,
		       * a3 t_submit, a4 t_end */
	SRC_API,      /* kind: vidmm_call; a0 t_end, a1 ret */
	SRC_CTR_SEG,  /* a0 segment, a1 used, a2 free, a3 largest hole */
	SRC_CTR_SYS,  /* a0 system pages in use (bytes), a1 swap in use (bytes) */
	SRC_RUN,      /* a0 run index (labels, ends), a1 window start, a2 window end, a3 t_end */
};
/* a[5] of every record is free: the conversion keeps the raw order there. */

struct rec {
	uint16_t src;
	uint16_t kind;
	uint32_t tid;
	uint64_t ts;
	uint64_t a[6];
};

struct chunk {
	struct chunk *_Atomic next; /* linked by the producer before it publishes
				     * a record in the new chunk */
	struct rec r[CHUNK_RECS];
};

/* Record k lies in chunk k / CHUNK_RECS of the chain, at k % CHUNK_RECS. */
struct ring {
	struct ring *next;
	uint32_t tid;
	_Atomic uint64_t head; /* written by the owner thread */
	_Atomic uint64_t tail; /* written by the drain thread */
	_Atomic uint64_t dropped;
	_Atomic bool dead;     /* the owner has exited */
	struct chunk *wc;      /* the producer's chunk: holds record head */
	struct chunk *rc;      /* the drain thread's: holds record tail */
	struct chunk *_Atomic spare; /* a consumed chunk handed back */
};

struct tmeta {
	uint32_t tid;
	char name[16];
};

struct timeline {
	struct rfile out;
	FILE *raw;
	int raw_err;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;
	pthread_t drainer;
	struct ring *rings;
	_Atomic uint32_t extra_chunks; /* chunks beyond each ring's first */
	uint64_t dropped_dead; /* dropped by rings already freed */
	uint64_t written;      /* records in the raw file */
	uint64_t dropped_cap;  /* drained past MAX_EVENTS */
	struct tmeta *meta;
	size_t nmeta, cap_meta;
	char **labels;         /* run labels (SRC_RUN a0) */
	struct vidmm_stats *ends; /* counters at each run's end (SRC_RUN a4) */
	size_t nruns, cap_runs;
	uint64_t t_open;
};

struct timeline *timeline_active;

static pthread_key_t ring_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Thread_local struct ring *my_ring;
static _Thread_local struct timeline *my_tl;

uint64_t timeline_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ring_exit(void *p)
{
	struct ring *g = p;
	if (g)
		atomic_store_explicit(&g->dead, true, memory_order_release);
}

static void make_key(void)
{
	pthread_key_create(&ring_key, ring_exit);
}

/* The calling thread's ring, registered on its first event (the one
 * allocation and lock an event ever costs). NULL if out of memory. */
static struct ring *ring_get(struct timeline *tl)
{
	if (my_tl == tl && my_ring)
		return my_ring;
	struct ring *g = calloc(1, sizeof(*g));
	struct chunk *c = malloc(sizeof(*c));
	if (!g || !c) {
		free(g);
		free(c);
		return NULL;
	}
	atomic_init(&c->next, NULL);
	g->wc = g->rc = c;
	struct tmeta m = { .tid = (uint32_t)syscall(SYS_gettid) };
	if (pthread_getname_np(pthread_self(), m.name, sizeof(m.name)))
		snprintf(m.name, sizeof(m.name), "thread");
	pthread_once(&key_once, make_key);
	pthread_mutex_lock(&tl->lock);
	g->tid = m.tid;
	g->next = tl->rings;
	tl->rings = g;
	if (tl->nmeta == tl->cap_meta) {
		size_t cap = tl->cap_meta ? 2 * tl->cap_meta : 32;
		struct tmeta *n = realloc(tl->meta, cap * sizeof(*n));
		if (n) {
			tl->meta = n;
			tl->cap_meta = cap;
		}
	}
	if (tl->nmeta < tl->cap_meta)
		tl->meta[tl->nmeta++] = m;
	pthread_mutex_unlock(&tl->lock);
	pthread_setspecific(ring_key, g);
	my_ring = g;
	my_tl = tl;
	return g;
}

/* The producer's chunk is full: link the spare or a new one, within the
 * budget. False when the event must be dropped. */
static bool grow(struct timeline *tl, struct ring *g)
{
	struct chunk *c = atomic_exchange_explicit(&g->spare, NULL, memory_order_acquire);
	if (!c) {
		if (atomic_fetch_add_explicit(&tl->extra_chunks, 1, memory_order_relaxed) >=
		    MAX_EXTRA_CHUNKS ||
		    !(c = malloc(sizeof(*c)))) {
			atomic_fetch_sub_explicit(&tl->extra_chunks, 1, memory_order_relaxed);
			return false;
		}
	}
	atomic_store_explicit(&c->next, NULL, memory_order_relaxed);
	atomic_store_explicit(&g->wc->next, c, memory_order_release);
	g->wc = c;
	/* the drain thread is a chunk behind: wake it (see below) */
	pthread_cond_signal(&tl->cv);
	return true;
}

static void push(struct timeline *tl, const struct rec *r)
{
	struct ring *g = ring_get(tl);
	if (!g)
		return;
	uint64_t h = atomic_load_explicit(&g->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&g->tail, memory_order_acquire);
	uint64_t i = h % CHUNK_RECS;
	if (i == 0 && h && !grow(tl, g)) {
		atomic_fetch_add_explicit(&g->dropped, 1, memory_order_relaxed);
		return;
	}
	g->wc->r[i] = *r;
	g->wc->r[i].tid = g->tid;
	atomic_store_explicit(&g->head, h + 1, memory_order_release);
	/* Half a chunk behind: wake the drain thread now rather than at its next
	 * period. A signal does not block, and without the lock a wake-up may
	 * be missed: the period and the next chunk's signal remain. */
	if (h + 1 - t == CHUNK_RECS / 2)
		pthread_cond_signal(&tl->cv);
}

/* The drain thread is done with chunk c: keep it as the ring's spare, or
 * free it if the ring has one. */
static void recycle(struct timeline *tl, struct ring *g, struct chunk *c)
{
	struct chunk *none = NULL;
	if (!atomic_compare_exchange_strong_explicit(&g->spare, &none, c, memory_order_release,
						     memory_order_relaxed)) {
		free(c);
		atomic_fetch_sub_explicit(&tl->extra_chunks, 1, memory_order_relaxed);
	}
}

/* A ring and its chunks, once no producer can touch them; all but one were
 * counted in tl->extra_chunks. */
static void ring_free(struct timeline *tl, struct ring *g)
{
	struct chunk *spare = atomic_load_explicit(&g->spare, memory_order_relaxed);
	uint32_t n = spare ? 1 : 0;

	for (struct chunk *c = g->rc, *next; c; c = next, n++) {
		next = atomic_load_explicit(&c->next, memory_order_relaxed);
		free(c);
	}
	free(spare);
	atomic_fetch_sub_explicit(&tl->extra_chunks, n - 1, memory_order_relaxed);
	free(g);
}

/* With tl->lock held: move every ring's records to the raw file; free the
 * rings of exited threads once they are empty. */
static void drain_locked(struct timeline *tl)
{
	for (struct ring **pp = &tl->rings; *pp;) {
		struct ring *g = *pp;
		bool dead = atomic_load_explicit(&g->dead, memory_order_acquire);
		uint64_t t = atomic_load_explicit(&g->tail, memory_order_relaxed);
		uint64_t h = atomic_load_explicit(&g->head, memory_order_acquire);
		while (t < h) {
			uint64_t i = t % CHUNK_RECS, n = h - t;
			if (i == 0 && t) {
				/* record t is the first of the next chunk, which
				 * the producer linked before publishing it */
				struct chunk *done = g->rc;
				g->rc = atomic_load_explicit(&done->next, memory_order_acquire);
				recycle(tl, g, done);
			}
			if (n > CHUNK_RECS - i)
				n = CHUNK_RECS - i;
			uint64_t room = tl->written < MAX_EVENTS ? MAX_EVENTS - tl->written : 0;
			uint64_t w = n < room ? n : room;
			if (w && !tl->raw_err &&
			    fwrite(&g->rc->r[i], sizeof(struct rec), w, tl->raw) != w)
				tl->raw_err = errno ? errno : EIO;
			tl->written += w;
			tl->dropped_cap += n - w;
			t += n;
		}
		atomic_store_explicit(&g->tail, t, memory_order_release);
		if (dead) {
			tl->dropped_dead += atomic_load_explicit(&g->dropped, memory_order_relaxed);
			*pp = g->next;
			ring_free(tl, g);
			continue;
		}
		pp = &g->next;
	}
}

static void *drain_main(void *arg)
{
	struct timeline *tl = arg;

	pthread_setname_np(pthread_self(), "vidmm-timeline");
	pthread_mutex_lock(&tl->lock);
	while (!tl->stop) {
		drain_locked(tl);
		uint64_t wake = timeline_now() + DRAIN_PERIOD_NS;
		struct timespec ts = { .tv_sec = (time_t)(wake / 1000000000ull),
				       .tv_nsec = (long)(wake % 1000000000ull) };
		if (!tl->stop)
			pthread_cond_timedwait(&tl->cv, &tl->lock, &ts);
	}
	drain_locked(tl);
	pthread_mutex_unlock(&tl->lock);
	return NULL;
}

int timeline_open(const char *path, char *err, size_t len)
{
	struct timeline *tl = calloc(1, sizeof(*tl));
	pthread_condattr_t ca;
	int ret;

	if (!tl) {
		snprintf(err, len, "--timeline: out of memory");
		return -ENOMEM;
	}
	ret = rfile_open(&tl->out, path, "--timeline", err, len);
	if (ret) {
		free(tl);
		return ret;
	}
	tl->raw = tmpfile();
	if (!tl->raw) {
		ret = -errno;
		snprintf(err, len, "--timeline: a temporary file: %s", strerror(errno));
		rfile_abort(&tl->out);
		free(tl);
		return ret;
	}
	pthread_mutex_init(&tl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tl->cv, &ca);
	pthread_condattr_destroy(&ca);
	tl->t_open = timeline_now();
	ret = -pthread_create(&tl->drainer, NULL, drain_main, tl);
	if (ret) {
		snprintf(err, len, "--timeline: a thread: %s", strerror(-ret));
		fclose(tl->raw);
		rfile_abort(&tl->out);
		free(tl);
		return ret;
	}
	timeline_active = tl;
	return 0;
}

/* ---- producers ------------------------------------------------------------------ */

void timeline_core_event(void *arg, const struct vidmm_trace_event *ev)
{
	struct rec r = { .src = SRC_CORE, .kind = (uint16_t)ev->kind, .ts = ev->ts_ns,
			 .a = { ev->a[0], ev->a[1], ev->a[2], ev->a[3] } };
	push(arg, &r);
}

void timeline_emu_cmd(void *arg, const struct emu_trace_cmd *c)
{
	struct rec r = { .src = SRC_EMU, .ts = c->t_start_ns,
			 .a = { c->engine | (uint64_t)c->type << 8 | (uint64_t)(uint32_t)c->err << 32,
				c->fence, c->bytes, c->t_submit_ns, c->t_end_ns } };
	push(arg, &r);
}

void timeline_api(int call, uint64_t t0, int ret)
{
	struct timeline *tl = timeline_active;
	if (!tl)
		return;
	struct rec r = { .src = SRC_API, .kind = (uint16_t)call, .ts = t0,
			 .a = { timeline_now(), (uint64_t)(int64_t)ret } };
	push(tl, &r);
}

void timeline_counter_segment(uint32_t seg, uint64_t used, uint64_t free_bytes, uint64_t largest)
{
	struct timeline *tl = timeline_active;
	if (!tl)
		return;
	struct rec r = { .src = SRC_CTR_SEG, .ts = timeline_now(),
			 .a = { seg, used, free_bytes, largest } };
	push(tl, &r);
}

void timeline_counter_system(uint64_t sysmem_used_bytes, uint64_t swap_used_bytes)
{
	struct timeline *tl = timeline_active;
	if (!tl)
		return;
	struct rec r = { .src = SRC_CTR_SYS, .ts = timeline_now(),
			 .a = { sysmem_used_bytes, swap_used_bytes } };
	push(tl, &r);
}

void timeline_run(const char *label, uint64_t t0, uint64_t ws, uint64_t we, uint64_t t1,
		  const struct vidmm_stats *end)
{
	struct timeline *tl = timeline_active;
	if (!tl)
		return;
	pthread_mutex_lock(&tl->lock);
	if (tl->nruns == tl->cap_runs) {
		size_t cap = tl->cap_runs ? 2 * tl->cap_runs : 16;
		char **l = realloc(tl->labels, cap * sizeof(*l));
		if (l)
			tl->labels = l;
		struct vidmm_stats *e = realloc(tl->ends, cap * sizeof(*e));
		if (e)
			tl->ends = e;
		if (l && e)
			tl->cap_runs = cap;
	}
	size_t i = tl->nruns;
	bool ok = i < tl->cap_runs && (tl->labels[i] = strdup(label)) != NULL;
	if (ok) {
		tl->ends[i] = *end;
		tl->nruns++;
	}
	pthread_mutex_unlock(&tl->lock);
	if (!ok)
		return;
	struct rec r = { .src = SRC_RUN, .ts = t0, .a = { i, ws, we, t1 } };
	push(tl, &r);
}

/* Events lost so far: full rings (live and freed ones) and the file's cap. */
static uint64_t dropped_locked(const struct timeline *tl)
{
	uint64_t n = tl->dropped_dead + tl->dropped_cap;

	for (struct ring *g = tl->rings; g; g = g->next)
		n += atomic_load_explicit(&g->dropped, memory_order_relaxed);
	return n;
}

uint64_t timeline_dropped(void)
{
	struct timeline *tl = timeline_active;
	uint64_t n;

	if (!tl)
		return 0;
	pthread_mutex_lock(&tl->lock);
	n = dropped_locked(tl);
	pthread_mutex_unlock(&tl->lock);
	return n;
}

/* ---- conversion ------------------------------------------------------------------ */

/* (engine, fence) -> what the manager issued it for, and the flow that
 * points at it; open addressing, sized for the number of records. */
struct cmd_key {
	uint64_t key; /* engine << 48 | fence; 0: empty */
	uint32_t flow;
	int16_t purpose; /* vidmm_copy_purpose, -1: a job */
};

struct cmd_map {
	struct cmd_key *k;
	size_t mask;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct cmd_key *map_slot(struct cmd_map *m, uint64_t key)
{
	for (size_t i = mix(key) & m->mask;; i = (i + 1) & m->mask)
		if (m->k[i].key == key || m->k[i].key == 0)
			return &m->k[i];
}

static const char *const purpose_name[] = { "page-out copy", "page-in copy", "clear",
					     "migrate copy" };
static const char *const reason_name[] = { "window", "lru", "priority", "busy-wait", "explicit",
					    "busy-queued" };

struct out {
	struct rfile *f;
	char *buf;
	size_t n, cap;
	bool first;
	int err;
	char msg[256];
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void flush_out(struct out *o)
{
	if (!o->n || o->err)
		return;
	o->buf[o->n] = 0;
	o->err = rfile_write(o->f, o->buf, o->msg, sizeof(o->msg));
	o->n = 0;
}

static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || o->err)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (o->n + (size_t)n + 3 >= o->cap)
		flush_out(o);
	if (!o->first)
		o->buf[o->n++] = ',';
	o->first = false;
	memcpy(o->buf + o->n, line, (size_t)n);
	o->n += (size_t)n;
	o->buf[o->n++] = '\n';
}

static double us(uint64_t ns, uint64_t base)
{
	return ns >= base ? (double)(ns - base) / 1000.0 : 0.0;
}

static int cmp_rec(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	/* same time: keep each thread's own order (stored in a[5] for the sort) */
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return a->a[5] < b->a[5] ? -1 : a->a[5] > b->a[5];
}

static void emit_core(struct out *o, const struct rec *r, uint64_t base, struct cmd_map *m)
{
	double t = us(r->ts, base);
	const uint64_t *a = r->a;

	switch (r->kind) {
	case VIDMM_TRACE_PAGE_OUT_BEGIN:
	case VIDMM_TRACE_PAGE_IN_BEGIN:
		emit(o, "{\"ph\":\"B\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"paging\",\"name\":"
		     "\"%s\",\"args\":{\"handle\":\"%#" PRIx64 "\",\"bytes\":%" PRIu64
		     ",\"mode\":\"%s\",\"%s\":%" PRIu64 "}}", r->tid, t,
		     r->kind == VIDMM_TRACE_PAGE_IN_BEGIN ? "page-in" : "page-out", a[0], a[1],
		     a[2] == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
		     r->kind == VIDMM_TRACE_PAGE_IN_BEGIN ? "throttled" : "segment", a[3]);
		break;
	case VIDMM_TRACE_SWAP_OUT_BEGIN:
		emit(o, "{\"ph\":\"B\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"swap\",\"name\":"
		     "\"swap-out batch\",\"args\":{\"allocations\":%" PRIu64 ",\"bytes\":%" PRIu64
		     ",\"background\":%" PRIu64 "}}", r->tid, t, a[0], a[1], a[2]);
		break;
	case VIDMM_TRACE_SWAP_IN_BEGIN:
		emit(o, "{\"ph\":\"B\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"swap\",\"name\":"
		     "\"swap-in\",\"args\":{\"handle\":\"%#" PRIx64 "\",\"bytes\":%" PRIu64 "}}",
		     r->tid, t, a[0], a[1]);
		break;
	case VIDMM_TRACE_RECLAIM_BEGIN:
		emit(o, "{\"ph\":\"B\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"reclaim\",\"name\":"
		     "\"reclaim pass\",\"args\":{\"pages_in_use\":%" PRIu64 ",\"want_free\":%" PRIu64
		     "}}", r->tid, t, a[0], a[1]);
		break;
	case VIDMM_TRACE_PAGE_OUT_END:
	case VIDMM_TRACE_PAGE_IN_END:
	case VIDMM_TRACE_SWAP_IN_END:
		emit(o, "{\"ph\":\"E\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"args\":{\"result\":%d}}",
		     r->tid, t, (int)(int64_t)a[2]);
		break;
	case VIDMM_TRACE_SWAP_OUT_END:
		emit(o, "{\"ph\":\"E\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"args\":{\"swapped\":%" PRIu64
		     ",\"result\":%d}}", r->tid, t, a[0], (int)(int64_t)a[2]);
		break;
	case VIDMM_TRACE_RECLAIM_END:
		emit(o, "{\"ph\":\"E\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"args\":{\"swapped\":%" PRIu64
		     ",\"result\":%d}}", r->tid, t, a[2], (int)(int64_t)a[1]);
		break;
	case VIDMM_TRACE_SWAP_IO_SUBMIT:
		emit(o, "{\"ph\":\"b\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"swap-io\",\"id\":\"%#"
		     PRIx64 "\",\"name\":\"swap I/O\",\"args\":{\"bytes\":%" PRIu64 ",\"dir\":\"%s\","
		     "\"offset\":%" PRIu64 "}}", r->tid, t, a[0], a[1], a[2] ? "write" : "read", a[3]);
		break;
	case VIDMM_TRACE_SWAP_IO_COMPLETE:
		emit(o, "{\"ph\":\"e\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"swap-io\",\"id\":\"%#"
		     PRIx64 "\",\"name\":\"swap I/O\",\"args\":{\"done\":%" PRIu64 ",\"result\":%d}}",
		     r->tid, t, a[0], a[1], (int)(int64_t)a[2]);
		break;
	case VIDMM_TRACE_EVICT:
		emit(o, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"evict\","
		     "\"name\":\"evict (%s)\",\"args\":{\"victim\":\"%#" PRIx64 "\",\"bytes\":%" PRIu64
		     ",\"segment\":%" PRIu64 "}}", r->tid, t,
		     a[2] < sizeof(reason_name) / sizeof(*reason_name) ? reason_name[a[2]] : "?",
		     a[0], a[1], a[3]);
		break;
	case VIDMM_TRACE_PLACE_FAIL:
		emit(o, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"place\","
		     "\"name\":\"placement failed\",\"args\":{\"segment\":%" PRIu64 ",\"size\":%" PRIu64
		     ",\"result\":%d}}", r->tid, t, a[0], a[1], (int)(int64_t)a[3]);
		break;
	case VIDMM_TRACE_THROTTLE:
		emit(o, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"paging\","
		     "\"name\":\"throttled move\",\"args\":{\"handle\":\"%#" PRIx64 "\",\"bytes\":%"
		     PRIu64 "}}", r->tid, t, a[0], a[1]);
		break;
	case VIDMM_TRACE_FAULT:
		emit(o, "{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"fault\","
		     "\"name\":\"%s\",\"args\":{\"count\":%" PRIu64 ",\"new\":%" PRIu64 "}}", r->tid, t,
		     a[0] == 1 ? "dummy-page faults" : "stale-TLB hits", a[1], a[2]);
		break;
	case VIDMM_TRACE_COPY:
	case VIDMM_TRACE_SUBMIT: {
		uint64_t engine = a[0], fence = r->kind == VIDMM_TRACE_COPY ? a[1] : a[2];
		if (!fence || (r->kind == VIDMM_TRACE_SUBMIT && a[3]))
			break;
		struct cmd_key *k = map_slot(m, engine << 48 | fence);
		if (k->key && k->flow) {
			emit(o, "{\"ph\":\"s\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"flow\",\"id\":%u,"
			     "\"name\":\"%s\"}", r->tid, t, k->flow,
			     r->kind == VIDMM_TRACE_SUBMIT ? "job" : purpose_name[k->purpose]);
		}
		break;
	}
	default:
		break; /* create/destroy/lock/unlock: the API slices show them */
	}
}

static int write_json(struct timeline *tl, char *err, size_t len)
{
	long end;
	struct rec *v = NULL;
	size_t n = 0;

	if (tl->raw_err) {
		snprintf(err, len, "--timeline: the temporary file: %s", strerror(tl->raw_err));
		return -tl->raw_err;
	}
	fflush(tl->raw);
	end = ftell(tl->raw);
	n = end > 0 ? (size_t)end / sizeof(struct rec) : 0;
	if (n) {
		v = malloc(n * sizeof(*v));
		if (!v || (rewind(tl->raw), fread(v, sizeof(*v), n, tl->raw) != n)) {
			free(v);
			snprintf(err, len, "--timeline: reading back %zu events: %s", n,
				 v ? "short read" : "out of memory");
			return -EIO;
		}
	}
	/* The raw file holds each thread's events in its own order: keep that
	 * order among equal times. */
	for (size_t i = 0; i < n; i++)
		v[i].a[5] = i;
	qsort(v, n, sizeof(*v), cmp_rec);

	struct cmd_map m = { 0 };
	size_t cap = 64;
	while (cap < 2 * n + 64)
		cap *= 2;
	m.k = calloc(cap, sizeof(*m.k));
	m.mask = cap - 1;
	if (!m.k) {
		free(v);
		snprintf(err, len, "--timeline: out of memory");
		return -ENOMEM;
	}
	/* First pass: what every command was issued for, and a flow id for it. */
	uint32_t flows = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = &v[i];
		if (r->src != SRC_CORE ||
		    (r->kind != VIDMM_TRACE_COPY && r->kind != VIDMM_TRACE_SUBMIT))
			continue;
		bool copy = r->kind == VIDMM_TRACE_COPY;
		uint64_t fence = copy ? r->a[1] : r->a[2];
		if (!fence || (!copy && r->a[3]))
			continue;
		struct cmd_key *k = map_slot(&m, r->a[0] << 48 | fence);
		k->key = r->a[0] << 48 | fence;
		k->purpose = copy ? (int16_t)(r->a[3] < 4 ? r->a[3] : 0) : -1;
		k->flow = ++flows;
	}

	uint64_t base = tl->t_open;
	struct out o = { .f = &tl->out, .cap = 1 << 20, .first = true };
	o.buf = malloc(o.cap + 1);
	if (!o.buf) {
		free(v);
		free(m.k);
		snprintf(err, len, "--timeline: out of memory");
		return -ENOMEM;
	}
	/* The drain thread has stopped: nothing changes under us. */
	uint64_t dropped = dropped_locked(tl);
	{
		char head[256];
		snprintf(head, sizeof(head),
			 "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"vidmm-bench\","
			 "\"vidmm_dropped_events\":%" PRIu64 ",\"events\":%zu},\"traceEvents\":[\n",
			 dropped, n);
		o.err = rfile_write(o.f, head, o.msg, sizeof(o.msg));
	}
	emit(&o, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
	     "\"vidmm-bench\"}}");
	emit(&o, "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":"
	     "\"runs\"}}", RUNS_TID);
	emit(&o, "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_sort_index\",\"args\":"
	     "{\"sort_index\":-1}}", RUNS_TID);
	for (size_t i = 0; i < tl->nmeta; i++)
		emit(&o, "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":"
		     "{\"name\":\"%s\"}}", tl->meta[i].tid, tl->meta[i].name);

	for (size_t i = 0; i < n && !o.err; i++) {
		const struct rec *r = &v[i];
		double t = us(r->ts, base);
		switch (r->src) {
		case SRC_CORE:
			emit_core(&o, r, base, &m);
			break;
		case SRC_EMU: {
			uint32_t engine = (uint32_t)(r->a[0] & 0xff);
			uint32_t type = (uint32_t)((r->a[0] >> 8) & 0xff);
			int cmd_err = (int)(int32_t)(uint32_t)(r->a[0] >> 32);
			struct cmd_key *k = map_slot(&m, (uint64_t)engine << 48 | r->a[1]);
			const char *name = type == EMU_CMD_JOB ? "job"
					   : k->key && k->purpose >= 0 ? purpose_name[k->purpose]
					   : type == EMU_CMD_FILL ? "fill" : "copy";
			emit(&o, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"cat\":"
			     "\"engine\",\"name\":\"%s\",\"args\":{\"engine\":%u,\"fence\":%" PRIu64
			     ",\"bytes\":%" PRIu64 ",\"error\":%d}}", r->tid, t,
			     us(r->a[4], r->ts), name, engine, r->a[1], r->a[2], cmd_err);
			if (r->a[3] && r->a[3] < r->ts) {
				emit(&o, "{\"ph\":\"b\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"queue\","
				     "\"id\":\"e%uf%" PRIu64 "\",\"name\":\"queued: %s\"}", r->tid,
				     us(r->a[3], base), engine, r->a[1], name);
				emit(&o, "{\"ph\":\"e\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"cat\":\"queue\","
				     "\"id\":\"e%uf%" PRIu64 "\",\"name\":\"queued: %s\"}", r->tid, t,
				     engine, r->a[1], name);
			}
			if (k->key && k->flow)
				emit(&o, "{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
				     "\"cat\":\"flow\",\"id\":%u,\"name\":\"%s\"}", r->tid, t, k->flow,
				     k->purpose < 0 ? "job" : purpose_name[k->purpose]);
			break;
		}
		case SRC_API: {
			const char *name = contract_call_name((enum vidmm_call)r->kind);
			if (!strncmp(name, "vidmm_", 6))
				name += 6;
			emit(&o, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"cat\":"
			     "\"api\",\"name\":\"%s\",\"args\":{\"result\":%d}}", r->tid, t,
			     us(r->a[0], r->ts), name, (int)(int64_t)r->a[1]);
			break;
		}
		case SRC_CTR_SEG:
			emit(&o, "{\"ph\":\"C\",\"pid\":1,\"ts\":%.3f,\"name\":\"segment %" PRIu64
			     " (bytes)\",\"args\":{\"used\":%" PRIu64 ",\"free\":%" PRIu64
			     ",\"largest hole\":%" PRIu64 "}}", t, r->a[0], r->a[1], r->a[2], r->a[3]);
			break;
		case SRC_CTR_SYS:
			emit(&o, "{\"ph\":\"C\",\"pid\":1,\"ts\":%.3f,\"name\":\"system pages in use "
			     "(bytes)\",\"args\":{\"used\":%" PRIu64 "}}", t, r->a[0]);
			emit(&o, "{\"ph\":\"C\",\"pid\":1,\"ts\":%.3f,\"name\":\"swap in use (bytes)\","
			     "\"args\":{\"used\":%" PRIu64 "}}", t, r->a[1]);
			break;
		case SRC_RUN: {
			size_t k = (size_t)r->a[0];
			const struct vidmm_stats *s = &tl->ends[k];
			emit(&o, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"cat\":"
			     "\"run\",\"name\":\"%s\",\"args\":{\"page_ins\":%" PRIu64 ",\"page_outs\":%"
			     PRIu64 ",\"swap_ins\":%" PRIu64 ",\"swap_readaheads\":%" PRIu64
			     ",\"swap_outs\":%" PRIu64 ",\"submits\":%" PRIu64 ",\"locks\":%" PRIu64
			     "}}", RUNS_TID, t, us(r->a[3], r->ts), tl->labels[k], s->page_ins,
			     s->page_outs, s->swap_ins, s->swap_readaheads, s->swap_outs, s->submits,
			     s->locks);
			if (r->a[2] > r->a[1])
				emit(&o, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
				     "\"cat\":\"run\",\"name\":\"measured window\"}", RUNS_TID,
				     us(r->a[1], base), us(r->a[2], r->a[1]));
			break;
		}
		}
	}
	flush_out(&o);
	if (!o.err)
		o.err = rfile_write(o.f, "]}\n", o.msg, sizeof(o.msg));
	free(o.buf);
	free(v);
	free(m.k);
	if (o.err) {
		snprintf(err, len, "--timeline: %s", o.msg);
		return o.err;
	}
	return rfile_commit(&tl->out, err, len);
}

static void timeline_free(struct timeline *tl)
{
	while (tl->rings) {
		struct ring *g = tl->rings;
		tl->rings = g->next;
		ring_free(tl, g);
	}
	/* This thread's ring is gone: its key must not point at it. */
	if (my_tl == tl) {
		pthread_setspecific(ring_key, NULL);
		my_ring = NULL;
		my_tl = NULL;
	}
	for (size_t i = 0; i < tl->nruns; i++)
		free(tl->labels[i]);
	free(tl->labels);
	free(tl->ends);
	free(tl->meta);
	fclose(tl->raw);
	pthread_cond_destroy(&tl->cv);
	pthread_mutex_destroy(&tl->lock);
	free(tl);
}

static void stop_drainer(struct timeline *tl)
{
	pthread_mutex_lock(&tl->lock);
	tl->stop = true;
	pthread_cond_signal(&tl->cv);
	pthread_mutex_unlock(&tl->lock);
	pthread_join(tl->drainer, NULL);
}

int timeline_close(char *err, size_t len)
{
	struct timeline *tl = timeline_active;
	int ret;

	if (!tl)
		return 0;
	timeline_active = NULL;
	stop_drainer(tl);
	ret = write_json(tl, err, len);
	if (ret)
		rfile_abort(&tl->out);
	timeline_free(tl);
	return ret;
}

void timeline_abort(void)
{
	struct timeline *tl = timeline_active;

	if (!tl)
		return;
	timeline_active = NULL;
	stop_drainer(tl);
	rfile_abort(&tl->out);
	timeline_free(tl);
}

/* SPDX-License-Identifier: MIT */
/* interrupt.c - see interrupt.h. */
#include "interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "trace.h"

static volatile sig_atomic_t signals;
static atomic_bool done;
static struct trace_writer *salvage_tw;
static pthread_t watchdog;
static bool started;

static void say(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

static void handler(int sig)
{
	signals++;
	if (signals == 1) {
		runner_interrupt();
		say("\nvidmm-bench: interrupted: stopping the run and writing what it measured "
		    "(again to stop at once)\n");
	} else if (signals >= 3) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

static void *watch(void *arg)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	double waited = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "vidmm-watchdog");
	while (!atomic_load(&done)) {
		nanosleep(&tick, NULL);
		if (!signals)
			continue;
		waited += 0.05;
		if (signals < 2 && waited < INTERRUPT_GRACE_S)
			continue;
		if (atomic_load(&done))
			break;
		/* A hang, or the user insists: keep the calls recorded so far. */
		char err[512] = "", msg[700];
		if (salvage_tw && trace_writer_salvage(salvage_tw, err, sizeof(err)) == 0)
			snprintf(msg, sizeof(msg), "vidmm-bench: %s: stopped without results; the "
				 "trace so far has no footer (replay --partial replays it)\n",
				 signals >= 2 ? "interrupted again" : "the run did not stop within "
				 "10 s of the interrupt (a hang?)");
		else
			snprintf(msg, sizeof(msg), "vidmm-bench: %s: stopped without results%s%s\n",
				 signals >= 2 ? "interrupted again" : "the run did not stop within "
				 "10 s of the interrupt (a hang?)", err[0] ? "; " : "", err);
		say(msg);
		_exit(EXIT_INTERRUPTED);
	}
	return NULL;
}

void interrupt_begin(struct trace_writer *tw)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	salvage_tw = tw;
	atomic_store(&done, false);
	if (!started && pthread_create(&watchdog, NULL, watch, NULL) == 0)
		started = true;
}

void interrupt_end(void)
{
	atomic_store(&done, true);
	if (started) {
		pthread_join(watchdog, NULL);
		started = false;
	}
	salvage_tw = NULL;
}

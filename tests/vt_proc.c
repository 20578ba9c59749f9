/* SPDX-License-Identifier: MIT */
/* vt_proc.c - spawn vidmm-bench from tests, temporary directories (vt_proc.h). */
#include "vt_proc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vt.h"

const char *vt_bench(void)
{
	const char *b = getenv("VIDMM_BENCH");
	if (!b) {
		fprintf(stderr, "VIDMM_BENCH is not set (run through meson test)\n");
		exit(1);
	}
	return b;
}

static void slurp(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	lseek(fd, 0, SEEK_SET);
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
}

static void run_prog(struct vt_result *res, const char *prog, const char *const *args,
		     double after_s, int sig, int times);

void vt_run_bench(struct vt_result *res, const char *const *args)
{
	run_prog(res, vt_bench(), args, 0, 0, 0);
}

void vt_run_bench_signal(struct vt_result *res, const char *const *args, double after_s,
			 int sig, int times)
{
	run_prog(res, vt_bench(), args, after_s, sig, times);
}

void vt_run(struct vt_result *res, const char *prog, const char *const *args)
{
	run_prog(res, prog, args, 0, 0, 0);
}

static void run_prog(struct vt_result *res, const char *prog, const char *const *args,
		     double after_s, int sig, int times)
{
	char outp[] = "/tmp/vt_out.XXXXXX", errp[] = "/tmp/vt_err.XXXXXX";
	int fo = mkstemp(outp), fe = mkstemp(errp);
	const char *argv[64];
	int n = 0;

	assert_true(fo >= 0 && fe >= 0);
	/* Unlinked at once: a failing test leaves nothing behind. */
	unlink(outp);
	unlink(errp);
	argv[n++] = prog;
	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	if (sig && times > 0) {
		/* Wait after_s (or until it exits), then signal it `times` times,
		 * 100 ms apart, as a user pressing Ctrl-C would. */
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		double waited = 0;
		pid_t w = 0;
		while (waited < after_s && (w = waitpid(pid, &st, WNOHANG)) == 0) {
			nanosleep(&tick, NULL);
			waited += 0.01;
		}
		for (int i = 0; w == 0 && i < times; i++) {
			kill(pid, sig);
			struct timespec gap = { 0, 100 * 1000 * 1000 };
			if (i + 1 < times)
				nanosleep(&gap, NULL);
		}
		if (w == pid)
			goto done;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
done:
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp(fo, res->out, sizeof(res->out));
	slurp(fe, res->err, sizeof(res->err));
	close(fo);
	close(fe);
}

void vt_show(const char *what, const struct vt_result *r)
{
	printf("--- %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", what, r->status, r->out, r->err);
}

char *vt_mktmpdir(const char *prefix)
{
	size_t len = strlen(prefix) + 16;
	char *d = malloc(len);

	if (!d)
		fail_msg("out of memory");
	else
		snprintf(d, len, "/tmp/%s.XXXXXX", prefix);
	assert_non_null(mkdtemp(d));
	return d;
}

void vt_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

unsigned vt_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

bool vt_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

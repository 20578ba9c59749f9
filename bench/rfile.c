/* SPDX-License-Identifier: MIT */
/* rfile.c - files published by name once complete (see rfile.h). */
#include "rfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void split(const char *path, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, dlen, ".");
		*base = path;
	} else if (slash == path) {
		snprintf(dir, dlen, "/");
		*base = slash + 1;
	} else {
		snprintf(dir, dlen, "%.*s", (int)(slash - path), path);
		*base = slash + 1;
	}
}

/* ".NAME.tmp.PID.XXXXXX" files of processes that no longer exist. */
static void clean_stale(const char *dir, const char *base)
{
	char prefix[NAME_MAX + 8];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	int n = snprintf(prefix, sizeof(prefix), ".%s.tmp.", base);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, (size_t)n) != 0)
			continue;
		long pid = strtol(e->d_name + n, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH)) {
			char p[PATH_MAX];
			if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
				unlink(p);
		}
	}
	closedir(d);
}

int rfile_open(struct rfile *f, const char *path, const char *opt, char *err, size_t len)
{
	char dir[PATH_MAX];
	const char *base;
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (!path || !*path) {
		snprintf(err, len, "%s: empty path", opt);
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(f->path)) {
		snprintf(err, len, "%s: path too long", opt);
		return -ENAMETOOLONG;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, len, "%s %s: is a directory (give a file name)", opt, path);
		return -EISDIR;
	}
	snprintf(f->path, sizeof(f->path), "%s", path);
	split(path, dir, sizeof(dir), &base);
	if (!*base) {
		snprintf(err, len, "%s %s: names a directory (give a file name)", opt, path);
		return -EISDIR;
	}
	f->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (f->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		int e = errno;
		snprintf(err, len, "%s: cannot write %s: %s", opt, path, strerror(e));
		return -e;
	}
	/* No O_TMPFILE here: a named temporary file, and the leftovers of
	 * killed runs removed. */
	clean_stale(dir, base);
	snprintf(f->tmp, sizeof(f->tmp), "%s/.%s.tmp.%ld.XXXXXX", dir, base, (long)getpid());
	f->fd = mkstemp(f->tmp);
	if (f->fd < 0) {
		int e = errno;
		f->tmp[0] = '\0';
		snprintf(err, len, "%s: cannot write %s: %s", opt, path, strerror(e));
		return -e;
	}
	return 0;
}

int rfile_check(const char *path, const char *opt, char *err, size_t len)
{
	struct rfile f;
	int ret = rfile_open(&f, path, opt, err, len);

	rfile_abort(&f);
	return ret;
}

int rfile_write(struct rfile *f, const char *text, char *err, size_t len)
{
	size_t n = strlen(text), off = 0;
	int ret = 0;

	while (off < n) {
		ssize_t w = write(f->fd, text + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		off += (size_t)w;
	}
	/* 0644 like any file the user creates (mkstemp made it 0600). */
	if (!ret && fchmod(f->fd, 0644))
		ret = -errno;
	if (ret) {
		snprintf(err, len, "writing %s: %s", f->path, strerror(-ret));
		rfile_abort(f);
		return ret;
	}
	f->done = true;
	return 0;
}

int rfile_commit(struct rfile *f, char *err, size_t len)
{
	int ret = 0;

	if (!f->tmp[0]) {
		/* Name the unnamed file beside its target, then rename over it:
		 * linkat(2) cannot replace an existing name. */
		char dir[PATH_MAX], proc[64];
		const char *base;
		split(f->path, dir, sizeof(dir), &base);
		snprintf(f->tmp, sizeof(f->tmp), "%s/.%s.tmp.%ld.link", dir, base, (long)getpid());
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		unlink(f->tmp);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, f->tmp, AT_SYMLINK_FOLLOW)) {
			ret = -errno;
			f->tmp[0] = '\0';
		}
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (!ret && rename(f->tmp, f->path))
		ret = -errno;
	if (ret) {
		snprintf(err, len, "writing %s: %s", f->path, strerror(-ret));
		rfile_abort(f);
		return ret;
	}
	f->tmp[0] = '\0';
	return 0;
}

int rfile_put(struct rfile *f, const char *text, char *err, size_t len)
{
	int ret = rfile_write(f, text, err, len);
	return ret ? ret : rfile_commit(f, err, len);
}

void rfile_abort(struct rfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0])
		unlink(f->tmp);
	f->tmp[0] = '\0';
}

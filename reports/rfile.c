/* SPDX-License-Identifier: MIT */
/* rfile.c - files published by rename once complete (see rfile.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rfile.h"

int rfile_open(struct rfile *f, const char *path, const char *opt, char *err, size_t len)
{
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
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->tmp, sizeof(f->tmp), "%s.XXXXXX", path);
	f->fd = mkstemp(f->tmp);
	if (f->fd < 0) {
		int e = errno;
		f->tmp[0] = '\0';
		snprintf(err, len, "%s: cannot write %s: %s", opt, path, strerror(e));
		return -e;
	}
	return 0;
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
	if (close(f->fd) && !ret)
		ret = -errno;
	f->fd = -1;
	if (ret) {
		snprintf(err, len, "writing %s: %s", f->path, strerror(-ret));
		rfile_abort(f);
	}
	return ret;
}

int rfile_commit(struct rfile *f, char *err, size_t len)
{
	if (rename(f->tmp, f->path)) {
		int e = errno;
		snprintf(err, len, "writing %s: %s", f->path, strerror(e));
		rfile_abort(f);
		return -e;
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

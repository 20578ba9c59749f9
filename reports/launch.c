/* SPDX-License-Identifier: MIT */
/* launch.c - see launch.h. */
#include "launch.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "validate.h"

#ifndef VIDMM_REPORTS_DIR
#define VIDMM_REPORTS_DIR "reports"
#endif

/* Debian's interpreter, with Debian's python3-matplotlib and python3-scipy:
 * the first python3 on PATH may be another one without them. */
#define PYTHON "/usr/bin/python3"

static const char *module_dir(void)
{
	const char *e = getenv("VIDMM_REPORTS_DIR");
	return e && *e ? e : VIDMM_REPORTS_DIR;
}

int reports_exec(const char *const *args)
{
	char main_py[PATH_MAX], pp[PATH_MAX + 16];
	const char *dir = module_dir();

	snprintf(main_py, sizeof(main_py), "%s/vidmm_reports/__main__.py", dir);
	if (access(PYTHON, X_OK)) {
		fprintf(stderr, "vidmm-bench %s: needs %s with python3-matplotlib and python3-scipy "
			"(scripts/setup.sh installs them)\n", args[0], PYTHON);
		return 2;
	}
	if (access(main_py, R_OK)) {
		fprintf(stderr, "vidmm-bench %s: the reports module is not at %s (set "
			"VIDMM_REPORTS_DIR to the directory holding vidmm_reports/)\n", args[0], dir);
		return 2;
	}
	size_t n = 0;
	while (args[n])
		n++;
	const char **argv = calloc(n + 4, sizeof(*argv));
	if (!argv)
		return 2;
	argv[0] = PYTHON;
	argv[1] = "-m";
	argv[2] = "vidmm_reports";
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = args[i];
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "vidmm-bench %s: fork: %s\n", args[0], strerror(errno));
		free(argv);
		return 2;
	}
	if (pid == 0) {
		snprintf(pp, sizeof(pp), "%s", dir);
		setenv("PYTHONPATH", pp, 1);
		/* Matplotlib's cache directory must be writable; a read-only
		 * home (CI) would print warnings on every run. */
		if (!getenv("MPLCONFIGDIR"))
			setenv("MPLCONFIGDIR", "/tmp/vidmm-bench-mplconfig", 1);
		setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
		execv(PYTHON, (char *const *)argv);
		fprintf(stderr, "vidmm-bench %s: cannot run %s: %s\n", args[0], PYTHON, strerror(errno));
		_exit(2);
	}
	free(argv);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 2;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WTERMSIG(st) == SIGINT ? 130 : 2;
}

/* Options whose value is a separate word, per command. */
static bool takes_value(const char *cmd, const char *opt)
{
	static const char *const report[] = { "--md", "--html", "--micro", NULL };
	static const char *const compare[] = { "--pair", "--axis", "--alpha", "--threshold",
					       "--json", "--html", NULL };
	const char *const *l = strcmp(cmd, "report") == 0 ? report : compare;

	for (; *l; l++)
		if (strcmp(*l, opt) == 0)
			return true;
	return false;
}

int reports_main(int argc, char **argv)
{
	const char *cmd = argv[0];
	char err[1024];
	const char **inputs = calloc((size_t)argc + 1, sizeof(*inputs));
	int ninputs = 0, ret = 2;

	if (!inputs)
		return 2;
	/* Options first (a value that is itself an option is refused before
	 * any file is looked at), then the input files, each checked here
	 * with one line naming what is wrong in it; the module checks the
	 * rest of its options and its outputs. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ninputs = 0;
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			if (strchr(a, '=')) {
				if (strncmp(a, "--micro=", 8) == 0)
					inputs[ninputs++] = a + 8;
			} else if (takes_value(cmd, a)) {
				if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] == '-')) {
					fprintf(stderr, "vidmm-bench %s: option '%s' needs a value\n", cmd, a);
					goto out;
				}
				if (strcmp(a, "--micro") == 0)
					inputs[ninputs++] = argv[i + 1];
				i++;
			}
		} else {
			inputs[ninputs++] = a;
		}
	}
	for (int i = 0; i < ninputs; i++) {
		int k = validate_file(inputs[i], err, sizeof(err));
		if (k < 0) {
			fprintf(stderr, "vidmm-bench %s: %s\n", cmd, err);
			goto out;
		}
		if (k == DOC_ANALYZE && strcmp(cmd, "compare") == 0) {
			fprintf(stderr, "vidmm-bench compare: %s: a `vidmm-bench analyze` document: "
				"report draws it; compare takes results documents\n", inputs[i]);
			goto out;
		}
		if (k == DOC_FUZZ) {
			fprintf(stderr, "vidmm-bench %s: %s: a `vidmm-bench fuzz` document has no runs "
				"to %s\n", cmd, inputs[i], cmd);
			goto out;
		}
	}
	const char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		goto out;
	for (int i = 0; i < argc; i++)
		args[i] = argv[i];
	ret = reports_exec(args);
	free(args);
out:
	free(inputs);
	return ret;
}

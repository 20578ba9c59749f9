/* SPDX-License-Identifier: MIT */
/*
 * launch.h - `vidmm-bench report` and `vidmm-bench compare`: the input files
 * are checked here (validate.h), then the Python module reports/vidmm_reports
 * runs on Debian's /usr/bin/python3 with matplotlib and scipy.
 *
 * Owns: finding the module and the interpreter, and the exit status. Must
 * not: render or compare anything itself.
 */
#ifndef VIDMM_REPORTS_LAUNCH_H
#define VIDMM_REPORTS_LAUNCH_H

/* argv[0] is "report" or "compare"; returns the exit status (report: 0 ok,
 * 2 bad input or output; compare: 0 nothing regressed, 1 something did, 2
 * bad input). */
int reports_main(int argc, char **argv);

/*
 * Run the module with args (NULL-terminated, the first being "report" or
 * "compare"), stdout and stderr inherited. The exit status, or 2 with a
 * message on stderr when the interpreter or the module is missing.
 */
int reports_exec(const char *const *args);

#endif

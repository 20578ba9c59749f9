/* SPDX-License-Identifier: MIT */
/*
 * cli.c - `run` / `replay` option parsing and help texts (see cli.h).
 *
 * Owns: option names and their validation. Must not: print anything but
 * help (errors go back as one line for the caller to print), open files, or
 * exit.
 */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <math.h>
#include <unistd.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

enum {
	O_DRIVER = 256, O_PROFILE, O_LOCAL, O_PCIE, O_PAGING, O_SYSMEM, O_SWAP, O_DURATION,
	O_OPS, O_THREADS, O_SEED, O_VERIFY, O_SWAPDIR, O_PERF, O_PIN, O_RECORD, O_OUT,
	O_QUIET, O_PARAM, O_PMODE, O_PIPE, O_NOSTATS, O_FENCE_TIMEOUT, O_NOCLEAR, O_INJECT, O_WARMUP,
	O_SETUP_LIMIT, O_ALLOW_EMPTY, O_REPEAT, O_SAME_SEED, O_HTML, O_PARTIAL, O_TIMELINE, O_EVICT,
	O_HOST_LIMIT, O_DEVICE, O_HELP,
};

static const struct option run_opts[] = {
	{ "driver", required_argument, NULL, O_DRIVER },
	{ "device", required_argument, NULL, O_DEVICE },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "local-mib", required_argument, NULL, O_LOCAL },
	{ "pcie-mib", required_argument, NULL, O_PCIE },
	{ "paging-mib", required_argument, NULL, O_PAGING },
	{ "sysmem-mib", required_argument, NULL, O_SYSMEM },
	{ "swap-mib", required_argument, NULL, O_SWAP },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "ops", required_argument, NULL, O_OPS },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "seed", required_argument, NULL, O_SEED },
	{ "verify", no_argument, NULL, O_VERIFY },
	{ "swap-dir", required_argument, NULL, O_SWAPDIR },
	{ "perf", no_argument, NULL, O_PERF },
	{ "pin", no_argument, NULL, O_PIN },
	{ "record", required_argument, NULL, O_RECORD },
	{ "timeline", required_argument, NULL, O_TIMELINE },
	{ "out", required_argument, NULL, O_OUT },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "param", required_argument, NULL, O_PARAM },
	{ "paging-mode", required_argument, NULL, O_PMODE },
	{ "paging", required_argument, NULL, O_PIPE },
	{ "evict-policy", required_argument, NULL, O_EVICT },
	{ "no-stats", no_argument, NULL, O_NOSTATS },
	{ "fence-timeout", required_argument, NULL, O_FENCE_TIMEOUT },
	{ "no-clear", no_argument, NULL, O_NOCLEAR },
	{ "inject", required_argument, NULL, O_INJECT },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "setup-limit", required_argument, NULL, O_SETUP_LIMIT },
	{ "allow-empty", no_argument, NULL, O_ALLOW_EMPTY },
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ "same-seed", no_argument, NULL, O_SAME_SEED },
	{ "max-other-load", required_argument, NULL, O_HOST_LIMIT },
	{ "html", required_argument, NULL, O_HTML },
	{ "partial", no_argument, NULL, O_PARTIAL },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Options a replay takes: the trace fixes everything else. */
static bool replay_ok(int c)
{
	return c == O_DRIVER || c == O_DEVICE || c == O_PERF || c == O_PIN || c == O_OUT || c == O_QUIET ||
	       c == O_NOSTATS || c == O_HELP || c == O_HTML || c == O_PARTIAL || c == O_ALLOW_EMPTY ||
	       c == O_TIMELINE || c == O_EVICT;
}

int cli_value_ok(const char *opt, const char *value, char *err, size_t len)
{
	/* getopt takes the next word as the value even when it is the next
	 * option: `--out --ops 10` would write a file named "--ops". No value
	 * of ours starts with "--". */
	if (value[0] == '-' && value[1] == '-') {
		snprintf(err, len, "option '%s' needs a value (got the option '%s')", opt, value);
		return -EINVAL;
	}
	return 0;
}

int cli_evict_policy(const char *name, char *out, size_t out_len, char *err, size_t len)
{
	char names[256] = "";
	size_t o = 0;

	for (unsigned i = 0; vidmm_evict_policy_name(i); i++) {
		if (!strcmp(name, vidmm_evict_policy_name(i)) && strlen(name) < out_len) {
			snprintf(out, out_len, "%s", name);
			return 0;
		}
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
				      vidmm_evict_policy_name(i));
		if (o >= sizeof(names))
			break;
	}
	snprintf(err, len, "--evict-policy: '%s' is not a policy (%s)", name, names);
	return -EINVAL;
}

int cli_parse_seconds(const char *opt, const char *s, double min, double max, double *out,
		      char *err, size_t len)
{
	char *end;

	errno = 0;
	double d = strtod(s, &end);
	if (end == s || *end || (errno && errno != ERANGE) || !isfinite(d) ||
	    (errno == ERANGE && d == 0)) {
		snprintf(err, len, "%s: '%s' is not a number of seconds", opt, s);
		return -EINVAL;
	}
	if (d < min) {
		snprintf(err, len, "%s: %s is too small (at least %g s)", opt, s, min);
		return -EINVAL;
	}
	if (d > max) {
		snprintf(err, len, "%s: %s is too large (at most %.0f s)", opt, s, max);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

int cli_parse_share(const char *opt, const char *s, double *out, char *err, size_t len)
{
	char *end;

	errno = 0;
	double d = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(d) || d <= 0 || d > 1) {
		snprintf(err, len, "%s: '%s' is not a share of the machine in (0, 1]", opt, s);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

static const char *opt_name(int c)
{
	for (const struct option *o = run_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

int cli_parse_u64(const char *opt, const char *s, uint64_t max, bool zero_ok, uint64_t *out,
		  char *err, size_t len)
{
	char *end;
	const char *p = s;

	while (*p == ' ')
		p++;
	if (*p == '-') {
		snprintf(err, len, "%s: '%s' is negative (must be a positive integer)", opt, s);
		return -EINVAL;
	}
	if (*p < '0' || *p > '9') {
		snprintf(err, len, "%s: '%s' is not a positive integer", opt, s);
		return -EINVAL;
	}
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (*end) {
		snprintf(err, len, "%s: '%s' is not a positive integer", opt, s);
		return -EINVAL;
	}
	if (errno == ERANGE || v > max) {
		snprintf(err, len, "%s: %s is too large (at most %" PRIu64 ")", opt, s, max);
		return -EINVAL;
	}
	if (!v && !zero_ok) {
		snprintf(err, len, "%s: must be positive, not 0", opt);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

uint64_t cli_clock_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t z = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	/* short enough to retype from a log */
	return (z ^ (z >> 31)) % 1000000000000ull;
}

/* Capacity overrides keep the profile's proportions where it has two parts. */
static void split(uint64_t total, uint64_t *a, uint64_t *b, uint64_t page)
{
	uint64_t sum = *a + *b;
	uint64_t na = sum ? (uint64_t)((double)total * ((double)*a / (double)sum)) : total / 2;

	na = na / page * page;
	if (*a && !na)
		na = page;
	if (na > total)
		na = total;
	*a = na;
	*b = total - na;
}

int cli_parse_run(int argc, char **argv, bool replay, struct cli_run *o, char *err, size_t len)
{
	struct run_config *c = &o->cfg;
	const char *profile = "tiny";
	const char *keys[RUN_MAX_PARAMS], *vals[RUN_MAX_PARAMS];
	static char pbuf[RUN_MAX_PARAMS][160];
	unsigned np = 0;
	uint64_t mib[5];
	bool mib_set[5] = { false };
	bool dur_set = false, threads_set = false;
	const char *positional = NULL;
	int ch;

	memset(o, 0, sizeof(*o));
	snprintf(c->driver, sizeof(c->driver), "emu");
	c->paging_mode = VIDMM_PAGING_WINDOW;
	c->stats = true;
	c->threads = 1;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", run_opts, NULL)) != -1) {
		if (ch == '?') {
			snprintf(err, len, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
		if (ch == ':') {
			snprintf(err, len, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		/* `--opt VALUE` (not `--opt=VALUE`, which says what it means) */
		if (optarg && optind >= 2 && optarg == argv[optind - 1] &&
		    cli_value_ok(argv[optind - 2], optarg, err, len))
			return -EINVAL;
		if (replay && !replay_ok(ch)) {
			snprintf(err, len, "--%s: does not apply to replay (the trace fixes it)",
				 opt_name(ch));
			return -EINVAL;
		}
		uint64_t v;
		switch (ch) {
		case O_HELP:
			o->help = true;
			break;
		case O_DRIVER:
			if (strcmp(optarg, "emu") != 0 && strcmp(optarg, "vulkan") != 0) {
				snprintf(err, len, "--driver: no such driver '%s' (available: emu, "
					 "vulkan)", optarg);
				return -EINVAL;
			}
			snprintf(c->driver, sizeof(c->driver), "%s", optarg);
			break;
		case O_DEVICE:
			if (strlen(optarg) >= sizeof(c->device)) {
				snprintf(err, len, "--device: '%s' is too long", optarg);
				return -EINVAL;
			}
			snprintf(c->device, sizeof(c->device), "%s", optarg);
			break;
		case O_PROFILE:
			profile = optarg;
			break;
		case O_LOCAL:
		case O_PCIE:
		case O_PAGING:
		case O_SYSMEM:
		case O_SWAP: {
			int i = ch - O_LOCAL;
			char on[32];
			snprintf(on, sizeof(on), "--%s", opt_name(ch));
			/* 16 TiB: the profile's own per-field limit */
			if (cli_parse_u64(on, optarg, 16ull << 20, ch == O_SWAP, &mib[i], err, len))
				return -EINVAL;
			mib_set[i] = true;
			break;
		}
		case O_DURATION:
			if (cli_parse_seconds("--duration", optarg, 0.001, 1e6, &c->duration_s, err,
					      len))
				return -EINVAL;
			dur_set = true;
			break;
		case O_WARMUP:
			if (cli_parse_seconds("--warmup", optarg, 0, 3600, &c->warmup_s, err, len))
				return -EINVAL;
			break;
		case O_SETUP_LIMIT:
			if (cli_parse_seconds("--setup-limit", optarg, 0.1, 1e6, &c->setup_limit_s, err,
					      len))
				return -EINVAL;
			break;
		case O_ALLOW_EMPTY:
			c->allow_empty = true;
			break;
		case O_REPEAT:
			if (cli_parse_u64("--repeat", optarg, 1000, false, &v, err, len))
				return -EINVAL;
			o->repeat = (unsigned)v;
			break;
		case O_SAME_SEED:
			o->same_seed = true;
			break;
		case O_HOST_LIMIT:
			if (cli_parse_share("--max-other-load", optarg, &c->host_limit, err, len))
				return -EINVAL;
			break;
		case O_HTML:
			o->html = optarg;
			break;
		case O_PARTIAL:
			o->partial = true;
			break;
		case O_OPS:
			if (cli_parse_u64("--ops", optarg, UINT64_MAX / 2, false, &c->ops_limit, err,
					  len))
				return -EINVAL;
			break;
		case O_THREADS:
			if (cli_parse_u64("--threads", optarg, 256, false, &v, err, len))
				return -EINVAL;
			c->threads = (unsigned)v;
			threads_set = true;
			break;
		case O_SEED:
			if (cli_parse_u64("--seed", optarg, INT64_MAX, true, &c->seed, err, len))
				return -EINVAL;
			o->seed_set = true;
			break;
		case O_VERIFY:
			c->verify = true;
			break;
		case O_SWAPDIR:
			if (!*optarg || strlen(optarg) >= sizeof(c->swap_dir)) {
				snprintf(err, len, "--swap-dir: empty or too long");
				return -EINVAL;
			}
			snprintf(c->swap_dir, sizeof(c->swap_dir), "%s", optarg);
			/* Checked here, before anything runs, with the reason. */
			struct stat sd;
			if (stat(optarg, &sd)) {
				snprintf(err, len, "--swap-dir %s: %s", optarg, strerror(errno));
				return -EINVAL;
			}
			if (!S_ISDIR(sd.st_mode)) {
				snprintf(err, len, "--swap-dir %s: not a directory", optarg);
				return -EINVAL;
			}
			if (access(optarg, W_OK | X_OK)) {
				snprintf(err, len, "--swap-dir %s: cannot create files there: %s", optarg,
					 strerror(errno));
				return -EINVAL;
			}
			break;
		case O_PERF:
			c->perf = true;
			break;
		case O_PIN:
			c->pin = true;
			break;
		case O_RECORD:
			o->record = optarg;
			break;
		case O_TIMELINE:
			o->timeline = optarg;
			break;
		case O_OUT:
			o->out = optarg;
			break;
		case O_QUIET:
			o->quiet = true;
			break;
		case O_NOSTATS:
			c->stats = false;
			break;
		case O_FENCE_TIMEOUT: {
			char *end;
			errno = 0;
			double ms = strtod(optarg, &end);
			if (errno || end == optarg || (*end && strcmp(end, "ms")) || !(ms >= 0.01) ||
			    ms > 3600e3) {
				snprintf(err, len, "--fence-timeout: '%s' is not a number of milliseconds "
					 "between 0.01 and 3600000", optarg);
				return -EINVAL;
			}
			c->fence_timeout_ns = (uint64_t)(ms * 1e6);
			break;
		}
		case O_NOCLEAR:
			c->no_clear = true;
			break;
		case O_INJECT:
			if (inject_parse(optarg, &c->inject, err, len))
				return -EINVAL;
			break;
		case O_PMODE:
			if (strcmp(optarg, "window") == 0)
				c->paging_mode = VIDMM_PAGING_WINDOW;
			else if (strcmp(optarg, "bounce") == 0)
				c->paging_mode = VIDMM_PAGING_BOUNCE;
			else {
				snprintf(err, len, "--paging-mode: '%s' is not window or bounce", optarg);
				return -EINVAL;
			}
			break;
		case O_PIPE:
			if (strcmp(optarg, "sync") == 0)
				c->pipelined = false;
			else if (strcmp(optarg, "pipelined") == 0)
				c->pipelined = true;
			else {
				snprintf(err, len, "--paging: '%s' is not sync or pipelined", optarg);
				return -EINVAL;
			}
			break;
		case O_EVICT:
			if (cli_evict_policy(optarg, c->evict_policy, sizeof(c->evict_policy), err, len))
				return -EINVAL;
			break;
		case O_PARAM: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				snprintf(err, len, "--param: '%s' is not key=value", optarg);
				return -EINVAL;
			}
			if (np == RUN_MAX_PARAMS || strlen(optarg) >= sizeof(pbuf[0])) {
				snprintf(err, len, "--param: too many or too long");
				return -EINVAL;
			}
			snprintf(pbuf[np], sizeof(pbuf[np]), "%s", optarg);
			pbuf[np][eq - optarg] = 0;
			keys[np] = pbuf[np];
			vals[np] = pbuf[np] + (eq - optarg) + 1;
			np++;
			break;
		}
		}
	}
	if (optind < argc)
		positional = argv[optind++];
	if (optind < argc && !o->help) {
		snprintf(err, len, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}

	/* fault injection and the timeline's engine track are the emulator's */
	if (strcmp(c->driver, "emu") != 0 && c->inject.n) {
		snprintf(err, len, "--inject: needs --driver emu (faults are injected into the "
			 "emulated engines)");
		return -EINVAL;
	}
	if (strcmp(c->driver, "emu") == 0 && c->device[0]) {
		snprintf(err, len, "--device: applies to --driver vulkan only");
		return -EINVAL;
	}
	if (replay) {
		if (o->help) {
			cli_help_replay(stdout);
			return 0;
		}
		if (!positional) {
			snprintf(err, len, "missing TRACE (vidmm-bench replay TRACE [options])");
			return -EINVAL;
		}
		o->trace = positional;
		return 0;
	}

	if (positional) {
		c->w = workload_find(positional);
		if (!c->w) {
			snprintf(err, len, "unknown workload '%s' (vidmm-bench list shows them)",
				 positional);
			return -EINVAL;
		}
	}
	if (o->help) {
		if (c->w)
			cli_help_workload(stdout, c->w);
		else
			cli_help_run(stdout);
		return 0;
	}
	if (!c->w) {
		snprintf(err, len, "missing WORKLOAD (vidmm-bench run WORKLOAD [options])");
		return -EINVAL;
	}

	char perr[256];
	if (vidmm_profile_resolve(profile, &c->profile, perr, sizeof(perr))) {
		snprintf(err, len, "--profile: %s", perr);
		return -EINVAL;
	}
	const uint64_t M = 1ull << 20;
	if (mib_set[0])
		split(mib[0] * M, &c->profile.local_visible, &c->profile.local_invisible,
		      c->profile.page_size);
	if (mib_set[1])
		split(mib[1] * M, &c->profile.pcie_snooped, &c->profile.pcie_unsnooped,
		      c->profile.page_size);
	if (mib_set[2])
		c->profile.paging = mib[2] * M;
	if (mib_set[3])
		c->profile.sysmem = mib[3] * M;
	if (mib_set[4])
		c->profile.swap = mib[4] * M;
	if (vidmm_profile_validate(&c->profile, perr, sizeof(perr))) {
		bool any = false;
		for (int i = 0; i < 5; i++)
			any |= mib_set[i];
		snprintf(err, len, "%s%s", any ? "capacity overrides: " : "--profile: ", perr);
		return -EINVAL;
	}

	if (!threads_set)
		c->threads = c->w->default_threads ? c->w->default_threads : 1;
	if (!dur_set && !c->ops_limit)
		c->duration_s = 5.0;
	if (!o->seed_set)
		c->seed = cli_clock_seed();
	if (runner_resolve_params(c, keys, vals, np, err, len))
		return -EINVAL;
	return 0;
}

void cli_help_main(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench COMMAND [options]\n"
		"\n"
		"A benchmark and stress-test harness for the vidmm GPU video memory manager.\n"
		"\n"
		"commands:\n"
		"  list                      workloads and suites, one line each\n"
		"  run WORKLOAD [options]    run one workload (vidmm-bench run --help)\n"
		"  suite NAME [--out-dir D]  run a suite: quick (CI, < 90 s) or full\n"
		"  replay TRACE [options]    replay a trace recorded with run --record\n"
		"  analyze TRACE [options]   bytes each eviction policy moves at several capacities,\n"
		"                            beside belady and a lower bound (the eviction lab)\n"
		"  probe                     list display-class PCI devices (libpci, hwloc)\n"
		"  overhead [options]        cost of the harness's statistics (alloc-churn on/off)\n"
		"  micro [--benchmark_*]     Google Benchmark microbenchmarks (runs vidmm-micro)\n"
		"  report RESULTS.json [--md F] [--html F]\n"
		"                            Markdown summary / self-contained HTML with charts\n"
		"  compare BASE.json NEW.json [--threshold PCT] [--alpha A]\n"
		"                            regressions vs noise (Mann-Whitney U on histograms)\n"
		"\n"
		"  --help, --version\n"
		"\n"
		"exit status: 0 ok, 1 a check failed (integrity errors, vidmm_check, dummy-page\n"
		"faults in a verify run), 2 bad usage or configuration, 77 skipped.\n");
}

void cli_help_run(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench run WORKLOAD [options]\n"
		"\n"
		"  --driver emu|vulkan     chip backend: the emulated GPU (default) or a real one\n"
		"                          through Vulkan (README: Drivers)\n"
		"  --device N|NAME         with --driver vulkan: the device (vidmm-bench probe)\n"
		"  --profile NAME|F.json   built-in profile (tiny, default, arise) or a JSON file\n"
		"                          (default tiny)\n"
		"  --local-mib N           local memory total (visible/invisible split kept)\n"
		"  --pcie-mib N            PCIe aperture total (snooped/unsnooped split kept)\n"
		"  --paging-mib N          paging window\n"
		"  --sysmem-mib N          system-memory budget\n"
		"  --swap-mib N            swap size\n"
		"  --paging-mode M         window (one GPU copy) or bounce (GPU + CPU copy)\n"
		"  --paging P              sync (the submitting thread waits for page-in copies,\n"
		"                          the default) or pipelined (the job waits for them on\n"
		"                          the GPU; window mode)\n"
		"  --evict-policy NAME     order of victims within a priority: lru (default), fifo,\n"
		"                          clock, lru-2, size-aware, random (vidmm-bench list)\n"
		"  --duration SECONDS      the measured window (default 5 s unless --ops is given;\n"
		"                          held open, up to 10x, until it holds 5 units)\n"
		"  --ops N                 stop after N manager calls\n"
		"  --warmup SECONDS        run, unmeasured, before the window (default 0)\n"
		"  --setup-limit SECONDS   stop a run whose setup takes longer (exit 1)\n"
		"  --allow-empty           a window that did no work is not a failure\n"
		"  --repeat N              N repetitions, seeds seed..seed+N-1; the console gives\n"
		"                          the median and its interval (compare needs 4 per side)\n"
		"  --same-seed             every repetition with the same seed\n"
		"  --max-other-load SHARE  with --repeat, a repetition during whose window other\n"
		"                          processes and the hypervisor took more than SHARE of\n"
		"                          the machine's CPU time is measured again once it is\n"
		"                          quiet, 2N extra runs at most (default 0.05; 1: never)\n"
		"  --threads N             worker threads (default: the workload's)\n"
		"  --seed N                random seed, 0..2^63-1 (default: from the clock; always\n"
		"                          printed and recorded)\n"
		"  --verify                FILL every allocation with a seeded pattern, VERIFY it on\n"
		"                          every read and before destroy; mismatches are integrity\n"
		"                          errors (exit 1)\n"
		"  --param KEY=VALUE       workload parameter (repeatable; run WORKLOAD --help)\n"
		"  --swap-dir DIR          directory of the swap file (default $TMPDIR or /tmp;\n"
		"                          the profile's swap size, --swap-mib, 0 = no swap)\n"
		"  --perf                  perf_event_open counters for the run\n"
		"  --pin                   bind worker threads to cores (hwloc)\n"
		"  --record TRACE          record the manager calls (replay reproduces them)\n"
		"  --timeline FILE.json    a timeline of the run for Perfetto or chrome://tracing\n"
		"                          (docs/perf-analysis.md)\n"
		"  --out FILE.json         write the results document\n"
		"  --html FILE.html        and its report page\n"
		"  --quiet                 no progress bar, no summary\n"
		"  --no-stats              skip latency histograms and the time series\n"
		"  --fence-timeout MS      bound of every internal GPU wait of the manager\n"
		"                          (default 2000 ms); short ones make copies outlive waits\n"
		"  --no-clear              do not clear new allocations (measures what clearing\n"
		"                          costs; the results record it)\n"
		"  --inject KIND[:RATE]    inject faults: RATE per command or I/O in (0,1) (default\n"
		"  --inject KIND:COUNT     0.01), or COUNT over the run; repeatable or comma-\n"
		"                          separated. Kinds: copy-fail, fence-delay, late, hang\n"
		"                          (count), job-fail, sysmem-full (count), swap-write,\n"
		"                          swap-read, short-io, swap-full, corrupt. Counted in the\n"
		"                          results; losses the API reports are not integrity errors.\n"
		"\nworkloads:\n");
	for (const struct workload *const *w = workload_table; *w; w++)
		fprintf(out, "  %-14s %s\n", (*w)->name, (*w)->description);
}

void cli_help_workload(FILE *out, const struct workload *w)
{
	fprintf(out, "usage: vidmm-bench run %s [options] [--param KEY=VALUE ...]\n\n%s\n",
		w->name, w->description);
	fprintf(out, "default threads: %u; throughput unit: %s\n\nparameters:\n",
		w->default_threads ? w->default_threads : 1, w->unit ? w->unit : "ops");
	for (const struct wl_param *p = w->params; p && p->name; p++) {
		char range[96];
		char lo[32], hi[32];
		/* whole numbers as whole numbers: 1048576, not 1.04858e+06 */
		snprintf(lo, sizeof(lo), p->min == floor(p->min) && fabs(p->min) < 1e15 ? "%.0f" : "%g",
			 p->min);
		snprintf(hi, sizeof(hi), p->max == floor(p->max) && fabs(p->max) < 1e15 ? "%.0f" : "%g",
			 p->max);
		if (p->type == WL_P_ENUM)
			snprintf(range, sizeof(range), "%s", p->choices);
		else
			snprintf(range, sizeof(range), "%s in [%s, %s]",
				 p->type == WL_P_INT ? "integer" : "number", lo, hi);
		fprintf(out, "  %-14s default %-8s %s\n  %-14s %s\n", p->name, p->def, range, "",
			p->help);
	}
	if (!w->params || !w->params->name)
		fprintf(out, "  (none)\n");
	if (w->metrics_doc) {
		/* the same words as RESULTS.md's workload_metrics, wrapped */
		fprintf(out, "\nworkload metrics (results \"workload_metrics\"):\n ");
		int col = 1;
		const char *p = w->metrics_doc;
		while (*p) {
			size_t n = strcspn(p, " ");
			if (col + (int)n + 1 > 86) {
				fprintf(out, "\n ");
				col = 1;
			}
			fprintf(out, " %.*s", (int)n, p);
			col += (int)n + 1;
			p += n;
			while (*p == ' ')
				p++;
		}
		fprintf(out, "\n");
	}
	if (w->headline && w->headline->name) {
		/* printed first on the console, judged by compare */
		for (int lower = 0; lower < 2; lower++) {
			bool first = true;
			for (const struct wl_headline *h = w->headline; h->name; h++) {
				if (h->lower_is_better != (bool)lower)
					continue;
				fprintf(out, "%s%s", first ? (lower ? "headline, lower is better: "
								     : "headline, higher is better: ")
							   : ", ", h->name);
				first = false;
			}
			if (!first)
				fprintf(out, "\n");
		}
	}
	fprintf(out, "\nrun options: vidmm-bench run --help\n");
}

void cli_help_replay(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench replay TRACE [--out FILE.json] [--quiet] [--perf] [--pin]\n"
		"\n"
		"Replays the manager calls of a trace recorded with `run --record TRACE` on a fresh\n"
		"manager built from the trace's profile, waiting for every job as the recording\n"
		"did, then compares the final counters with the recording's. Exit 0 when they\n"
		"match, 1 when they differ (each difference is printed), 2 for a bad trace.\n"
		"Exact for traces recorded with one thread.\n");
}

int cli_sibling_path(const char *name, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	/* Installed, the programs share a directory; in the build tree the
	 * microbenchmarks are built in bench/micro/. */
	if (snprintf(out, len, "%s/%s", self, name) < (int)len && access(out, X_OK) == 0)
		return 0;
	if (snprintf(out, len, "%s/micro/%s", self, name) < (int)len && access(out, X_OK) == 0)
		return 0;
	return -ENOENT;
}

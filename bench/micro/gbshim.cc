// SPDX-License-Identifier: MIT
//
// gbshim.cc - the only C++ of the benchmark harness: implements gbshim.h
// over Google Benchmark 1.7.1.
//
// Owns: the mapping of the C API onto benchmark::internal::Benchmark and
// benchmark::State, the per-run fixture protocol, and the statistics
// trampolines.
// Must not: know about vidmm, or let C++ types or exceptions leak into C.

#include "gbshim.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using benchmark::Counter;
using benchmark::State;

// gb_state is never defined: it is a benchmark::State seen from C.
inline State &S(gb_state *st) { return *reinterpret_cast<State *>(st); }
inline const State &S(const gb_state *st)
{
	return *reinterpret_cast<const State *>(st);
}

template <class A, class B> constexpr bool same(A a, B b)
{
	return static_cast<long long>(a) == static_cast<long long>(b);
}

static_assert(same(GB_NS, benchmark::kNanosecond) && same(GB_US, benchmark::kMicrosecond) &&
		      same(GB_MS, benchmark::kMillisecond) && same(GB_S, benchmark::kSecond),
	      "gb_time_unit must equal benchmark::TimeUnit");
static_assert(same(GB_COUNTER_RATE, Counter::kIsRate) &&
		      same(GB_COUNTER_AVG_THREADS, Counter::kAvgThreads) &&
		      same(GB_COUNTER_ITER_INVARIANT, Counter::kIsIterationInvariant) &&
		      same(GB_COUNTER_AVG_ITERATIONS, Counter::kAvgIterations) &&
		      same(GB_COUNTER_INVERT, Counter::kInvert),
	      "gb_counter_flags must equal benchmark::Counter::Flags");
static_assert(same(GB_STAT_TIME, benchmark::kTime) && same(GB_STAT_PERCENT, benchmark::kPercentage),
	      "gb_stat_unit must equal benchmark::StatisticUnit");

// A benchmark whose body is a C function with user data. 1.7.1's
// Benchmark::Setup/Teardown take a bare function pointer and get no user
// data, so the fixture is run from Run() itself: Run() is called once per
// thread per run, hence the barrier that gives once-per-run semantics.
class CBench final : public benchmark::internal::Benchmark {
public:
	CBench(const char *name, gb_fn fn, void *user)
		: Benchmark(name), fn_(fn), user_(user)
	{
	}

	void set_fixture(gb_fixture_fn setup, gb_fixture_fn teardown)
	{
		setup_ = setup;
		teardown_ = teardown;
	}

	void Run(State &st) override
	{
		if (!setup_ && !teardown_) {
			fn_(reinterpret_cast<gb_state *>(&st), user_);
			return;
		}
		if (st.threads() == 1) {
			call_fixture(setup_, st);
			fn_(reinterpret_cast<gb_state *>(&st), user_);
			call_fixture(teardown_, st);
			return;
		}
		run_threaded(st);
	}

private:
	void call_fixture(gb_fixture_fn f, const State &st)
	{
		if (!f)
			return;
		// ArgsCnt() is -1 without arguments; every run of a family has
		// the same count (Benchmark::Args checks it).
		int nargs = std::max(ArgsCnt(), 0);
		std::vector<int64_t> args(static_cast<size_t>(nargs));
		for (int i = 0; i < nargs; i++)
			args[static_cast<size_t>(i)] = st.range(static_cast<size_t>(i));
		struct gb_run run = { args.data(), nargs, st.threads() };
		f(&run, user_);
	}

	// Thread 0 sets up while the others wait, so no body starts before the
	// fixture is ready; thread 0 tears down once every body has returned.
	// The runner joins all threads of a run before the next run starts, and
	// runs of one family never overlap, so one set of fields per family is
	// enough. The waits happen before the first and after the last
	// KeepRunning barrier of the state, i.e. outside the timed region.
	void run_threaded(State &st)
	{
		std::unique_lock<std::mutex> lk(mu_);
		if (st.thread_index() == 0) {
			lk.unlock();
			call_fixture(setup_, st);
			lk.lock();
			ready_ = true;
			cv_.notify_all();
		} else {
			cv_.wait(lk, [this] { return ready_; });
		}
		lk.unlock();

		fn_(reinterpret_cast<gb_state *>(&st), user_);

		lk.lock();
		done_++;
		if (st.thread_index() != 0) {
			cv_.notify_all();
			return;
		}
		cv_.wait(lk, [this, &st] { return done_ == st.threads(); });
		ready_ = false;
		done_ = 0;
		lk.unlock();
		call_fixture(teardown_, st);
	}

	gb_fn fn_;
	void *user_;
	gb_fixture_fn setup_ = nullptr;
	gb_fixture_fn teardown_ = nullptr;

	std::mutex mu_;
	std::condition_variable cv_;
	bool ready_ = false;
	int done_ = 0;
};

inline CBench &B(gb_bench *b) { return *reinterpret_cast<CBench *>(b); }

// 1.7.1's StatisticsFunc is a bare function pointer over a std::vector:
// each distinct C function gets one of these fixed trampolines.
constexpr size_t kStatSlots = 64;
std::array<std::atomic<gb_stat_fn>, kStatSlots> stat_slots;
std::mutex stat_mu;

template <size_t I> double stat_trampoline(const std::vector<double> &v)
{
	return stat_slots[I].load(std::memory_order_relaxed)(v.data(), v.size());
}

template <size_t... I>
constexpr std::array<benchmark::StatisticsFunc *, sizeof...(I)>
make_trampolines(std::index_sequence<I...>)
{
	return { { &stat_trampoline<I>... } };
}

const std::array<benchmark::StatisticsFunc *, kStatSlots> stat_trampolines =
	make_trampolines(std::make_index_sequence<kStatSlots>{});

benchmark::StatisticsFunc *stat_slot_for(gb_stat_fn fn)
{
	std::lock_guard<std::mutex> lk(stat_mu);
	for (size_t i = 0; i < kStatSlots; i++) {
		gb_stat_fn cur = stat_slots[i].load(std::memory_order_relaxed);
		if (cur == fn)
			return stat_trampolines[i];
		if (!cur) {
			stat_slots[i].store(fn, std::memory_order_relaxed);
			return stat_trampolines[i];
		}
	}
	return nullptr;
}

bool initialized;

} // namespace

extern "C" {

void gb_initialize(int *argc, char **argv)
{
	if (initialized)
		return;
	initialized = true;
	benchmark::Initialize(argc, argv);
}

bool gb_report_unrecognized(int argc, char **argv)
{
	return benchmark::ReportUnrecognizedArguments(argc, argv);
}

size_t gb_run_specified(void)
{
	return benchmark::RunSpecifiedBenchmarks();
}

void gb_shutdown(void)
{
	benchmark::Shutdown();
}

void gb_add_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value ? value : "");
}

void gb_add_contextf(const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = std::vsnprintf(nullptr, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		gb_add_context(key, "");
		return;
	}
	std::string s(static_cast<size_t>(n) + 1, '\0');
	va_start(ap, fmt);
	std::vsnprintf(&s[0], s.size(), fmt, ap);
	va_end(ap);
	s.resize(static_cast<size_t>(n));
	benchmark::AddCustomContext(key, s);
}

const char *gb_library_build_type(void)
{
	// The library knows (NDEBUG when it was compiled) and only says so in
	// its reports, so ask its JSON reporter for the context stanza.
	static std::string type = []() -> std::string {
		// The reporter streams executable_name, null before Initialize.
		using Ctx = benchmark::BenchmarkReporter::Context;
		if (!Ctx::executable_name)
			Ctx::executable_name = "";
		std::ostringstream out;
		benchmark::JSONReporter rep;
		rep.SetOutputStream(&out);
		rep.SetErrorStream(&out);
		try {
			rep.ReportContext(Ctx());
		} catch (...) {
			return "unknown";	// never let C++ exceptions reach C
		}
		const std::string s = out.str();
		const std::string key = "\"library_build_type\": \"";
		size_t at = s.find(key);
		if (at == std::string::npos)
			return "unknown";
		at += key.size();
		size_t end = s.find('"', at);
		return end == std::string::npos ? "unknown" : s.substr(at, end - at);
	}();
	return type.c_str();
}

void gb_set_default_time_unit(enum gb_time_unit unit)
{
	benchmark::SetDefaultTimeUnit(static_cast<benchmark::TimeUnit>(unit));
}

gb_bench *gb_register(const char *name, gb_fn fn, void *user)
{
	auto *b = new CBench(name, fn, user);
	benchmark::internal::RegisterBenchmarkInternal(b);
	return reinterpret_cast<gb_bench *>(b);
}

void gb_bench_fixture(gb_bench *b, gb_fixture_fn setup, gb_fixture_fn teardown)
{
	B(b).set_fixture(setup, teardown);
}

void gb_bench_arg(gb_bench *b, int64_t x)
{
	B(b).Arg(x);
}

void gb_bench_args(gb_bench *b, const int64_t *args, size_t n)
{
	B(b).Args(std::vector<int64_t>(args, args + n));
}

void gb_bench_range(gb_bench *b, int64_t start, int64_t limit)
{
	B(b).Range(start, limit);
}

void gb_bench_ranges(gb_bench *b, const struct gb_range *r, size_t n)
{
	std::vector<std::pair<int64_t, int64_t>> v;
	for (size_t i = 0; i < n; i++)
		v.emplace_back(r[i].lo, r[i].hi);
	B(b).Ranges(v);
}

void gb_bench_range_multiplier(gb_bench *b, int multiplier)
{
	B(b).RangeMultiplier(multiplier);
}

void gb_bench_dense_range(gb_bench *b, int64_t start, int64_t limit, int step)
{
	B(b).DenseRange(start, limit, step);
}

void gb_bench_arg_name(gb_bench *b, const char *name)
{
	B(b).ArgName(name);
}

void gb_bench_arg_names(gb_bench *b, const char *const *names, size_t n)
{
	B(b).ArgNames(std::vector<std::string>(names, names + n));
}

void gb_bench_threads(gb_bench *b, int t)
{
	B(b).Threads(t);
}

void gb_bench_thread_range(gb_bench *b, int min_threads, int max_threads)
{
	B(b).ThreadRange(min_threads, max_threads);
}

void gb_bench_repetitions(gb_bench *b, int n)
{
	B(b).Repetitions(n);
}

void gb_bench_report_aggregates_only(gb_bench *b, bool only)
{
	B(b).ReportAggregatesOnly(only);
}

void gb_bench_unit(gb_bench *b, enum gb_time_unit unit)
{
	B(b).Unit(static_cast<benchmark::TimeUnit>(unit));
}

void gb_bench_min_time(gb_bench *b, double seconds)
{
	B(b).MinTime(seconds);
}

void gb_bench_iterations(gb_bench *b, int64_t n)
{
	B(b).Iterations(n);
}

void gb_bench_use_real_time(gb_bench *b)
{
	B(b).UseRealTime();
}

void gb_bench_use_manual_time(gb_bench *b)
{
	B(b).UseManualTime();
}

void gb_bench_measure_process_cpu_time(gb_bench *b)
{
	B(b).MeasureProcessCPUTime();
}

bool gb_bench_statistics(gb_bench *b, const char *name, gb_stat_fn fn,
			 enum gb_stat_unit unit)
{
	benchmark::StatisticsFunc *f = stat_slot_for(fn);
	if (!f)
		return false;
	B(b).ComputeStatistics(name, f, static_cast<benchmark::StatisticUnit>(unit));
	return true;
}

double gb_stat_p95(const double *v, size_t n)
{
	if (n == 0)
		return 0.0;
	std::vector<double> s(v, v + n);
	std::sort(s.begin(), s.end());
	double h = 0.95 * static_cast<double>(n - 1);
	size_t lo = static_cast<size_t>(h);
	if (lo + 1 >= n)
		return s[n - 1];
	return s[lo] + (h - static_cast<double>(lo)) * (s[lo + 1] - s[lo]);
}

double gb_stat_max(const double *v, size_t n)
{
	return n ? *std::max_element(v, v + n) : 0.0;
}

bool gb_keep_running(gb_state *st)
{
	return S(st).KeepRunning();
}

bool gb_keep_running_batch(gb_state *st, int64_t n)
{
	return S(st).KeepRunningBatch(n);
}

int64_t gb_next_batch(gb_state *st)
{
	// One batch of exactly max_iterations: no overshoot, and the second
	// call ends the loop (also right after SkipWithError, which zeroes the
	// remaining count).
	State &s = S(st);
	const int64_t n = s.max_iterations;
	return s.KeepRunningBatch(n) ? n : 0;
}

void gb_pause_timing(gb_state *st)
{
	S(st).PauseTiming();
}

void gb_resume_timing(gb_state *st)
{
	S(st).ResumeTiming();
}

void gb_skip_with_error(gb_state *st, const char *msg)
{
	S(st).SkipWithError(msg);
}

bool gb_error_occurred(const gb_state *st)
{
	return S(st).error_occurred();
}

void gb_set_iteration_time(gb_state *st, double seconds)
{
	S(st).SetIterationTime(seconds);
}

void gb_set_label(gb_state *st, const char *label)
{
	S(st).SetLabel(label ? label : "");
}

void gb_set_bytes_processed(gb_state *st, int64_t bytes)
{
	S(st).SetBytesProcessed(bytes);
}

void gb_set_items_processed(gb_state *st, int64_t items)
{
	S(st).SetItemsProcessed(items);
}

void gb_counter_set(gb_state *st, const char *name, double value, int flags)
{
	const Counter::OneK k = (flags & GB_COUNTER_1024) ? Counter::kIs1024 : Counter::kIs1000;
	const auto f = static_cast<Counter::Flags>(flags & ~GB_COUNTER_1024);
	S(st).counters[name] = Counter(value, f, k);
}

int64_t gb_range(const gb_state *st, size_t i)
{
	return S(st).range(i);
}

int gb_threads(const gb_state *st)
{
	return S(st).threads();
}

int gb_thread_index(const gb_state *st)
{
	return S(st).thread_index();
}

int64_t gb_iterations(const gb_state *st)
{
	return S(st).iterations();
}

int64_t gb_max_iterations(const gb_state *st)
{
	return S(st).max_iterations;
}

} // extern "C"

# SPDX-License-Identifier: MIT
"""Statistics across repetitions: the interval of a median, and the test
that tells a change from noise.

Owns: the verdict rules of `compare`. Must not: treat the samples of one run
(the thousands of latencies in its histograms) as independent observations;
every test here is across repetitions, one value per repetition.

The rules, as Google Benchmark's compare.py and criterion have them:
- a metric is compared through its per-repetition values with a two-sided
  Mann-Whitney U test (scipy; exact for small samples without ties);
- the change is the ratio of the medians, with a 95% percentile-bootstrap
  interval (fixed generator seed, so a report does not change between
  renderings);
- "regressed" or "improved" needs both: p < alpha, and a 95% interval of
  the change that lies wholly beyond the noise threshold (tail percentiles
  get twice the threshold: they move more between runs);
- too few repetitions for the test to ever reach alpha give "inconclusive",
  never a verdict.
"""

import math

import numpy as np
from scipy import stats

ALPHA = 0.05
THRESHOLD = 0.05
BOOT_RESAMPLES = 4000


def median_ci(values, conf=0.95):
    """(median, lo, hi, coverage) of the median of values: a distribution-free
    interval from order statistics (the binomial ranks). With few values the
    widest interval, [min, max], may cover less than conf; the coverage it
    has is returned so a table can say so. None for no values."""
    x = sorted(float(v) for v in values)
    n = len(x)
    if n == 0:
        return None
    med = float(np.median(x))
    if n == 1:
        return med, x[0], x[0], 0.0
    k_best, cov_best = 0, 1.0 - 2.0 * 0.5 ** n
    for k in range(1, n // 2 + 1):
        if n - k - 1 < k:
            break
        cov = float(stats.binom.cdf(n - k - 1, n, 0.5) - stats.binom.cdf(k, n, 0.5))
        if cov < conf:
            break
        k_best, cov_best = k, cov
    return med, x[k_best], x[n - 1 - k_best], cov_best


def min_p(n_base, n_new):
    """The smallest two-sided p an exact U test can give for these sizes."""
    return 2.0 / math.comb(n_base + n_new, n_base)


def _change(b, n, axis=-1):
    mb = np.median(b, axis=axis)
    mn = np.median(n, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mn / mb - 1.0


def compare(base, new, better="higher", alpha=ALPHA, threshold=THRESHOLD, tail=False):
    """Compare the per-repetition values of one metric. Returns a dict:
    n_base, n_new, median_base, median_new, change (relative, None when the
    base median is 0), ci (lo, hi) of the change, p, threshold, verdict
    ('regressed', 'improved', 'unchanged', 'inconclusive') and why."""
    b = np.asarray([float(v) for v in base if v is not None and math.isfinite(float(v))])
    nw = np.asarray([float(v) for v in new if v is not None and math.isfinite(float(v))])
    thr = threshold * (2 if tail else 1)
    out = {
        "n_base": int(b.size), "n_new": int(nw.size),
        "median_base": float(np.median(b)) if b.size else None,
        "median_new": float(np.median(nw)) if nw.size else None,
        "change": None, "ci": None, "p": None, "threshold": thr,
        "better": better, "verdict": "inconclusive", "why": "",
    }
    if b.size == 0 or nw.size == 0:
        out["why"] = "no values on one side"
        return out
    mb, mn = out["median_base"], out["median_new"]
    if mb != 0:
        out["change"] = mn / mb - 1.0
    if b.size < 2 or nw.size < 2:
        out["why"] = f"{b.size} and {nw.size} repetitions: no test possible (use --repeat)"
        return out
    if min_p(b.size, nw.size) >= alpha:
        out["why"] = (f"{b.size} and {nw.size} repetitions: the U test cannot reach "
                      f"p < {alpha} (needs at least 4 per side)")
        return out
    if np.all(b == b[0]) and np.all(nw == b[0]):
        out.update(p=1.0, ci=(0.0, 0.0), verdict="unchanged", why="identical values")
        return out
    res = stats.mannwhitneyu(nw, b, alternative="two-sided", method="auto")
    out["p"] = float(res.pvalue)
    if mb != 0:
        rng = np.random.default_rng(20261130)
        try:
            bs = stats.bootstrap((b, nw), _change, paired=False, vectorized=True,
                                 n_resamples=BOOT_RESAMPLES, method="percentile",
                                 confidence_level=0.95, random_state=rng)
            lo, hi = float(bs.confidence_interval.low), float(bs.confidence_interval.high)
            if math.isfinite(lo) and math.isfinite(hi):
                out["ci"] = (lo, hi)
        except (ValueError, FloatingPointError):
            out["ci"] = None
    significant = out["p"] < alpha
    if out["change"] is not None:
        ci = out["ci"]
        # The whole interval beyond the noise band, on one side: a shift
        # that is merely significant but could be noise-sized is not a
        # regression (five repetitions give wide intervals; that is the
        # price of few repetitions, and it errs towards "unchanged").
        beyond = ci is not None and (ci[0] > thr or ci[1] < -thr)
        if not (significant and beyond):
            out["verdict"] = "unchanged"
            out["why"] = ("p >= alpha" if not significant else
                          "no interval" if ci is None else
                          f"the interval reaches into the {thr * 100:.0f}% noise band")
            return out
        worse = out["change"] < 0 if better == "higher" else out["change"] > 0
    else:
        # The base median is 0: no relative change; the test decides alone.
        if not significant:
            out["verdict"] = "unchanged"
            out["why"] = "p >= alpha"
            return out
        worse = mn < mb if better == "higher" else mn > mb
    out["verdict"] = "regressed" if worse else "improved"
    return out

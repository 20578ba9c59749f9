# SPDX-License-Identifier: MIT
"""vidmm-bench reports: results JSON to Markdown and self-contained HTML
(matplotlib charts), and comparisons across repetitions (scipy statistics).
Run as `python3 -m vidmm_reports report|compare ...` (vidmm-bench does)."""

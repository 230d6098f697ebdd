"""Summary statistics, ratios and the Markdown table of the drug benchmark's report."""

from __future__ import annotations

import hashlib
import json
import statistics
from typing import Any

AIM = (
    "Aims: search p99 ≤ 20 ms over the whole BDPM; full import ≤ 30 s; an update from an older snapshot "
    "≤ 2 × an unchanged re-import."
)
NOTE = (
    "Search latency includes the per-search check of the latest import (one indexed query); the index is built "
    "before timing (its build time is the 'index build' column, paid once per process and import). 'lookup' is "
    "one indexed SELECT by CIS, 'LIKE' an unindexed case-insensitive prefix scan of the names. Over HTTP, "
    "'baseline' is the same authenticated request refused before any search (empty query): the request path "
    "itself. The import is compared with only reading and splitting the same lines, the update with the "
    "unchanged re-import of the same repetition. This machine is shared and noisy: see min–max and the load "
    "average at start."
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def stats(values: list[float], digits: int = 2) -> dict[str, float]:
    median = statistics.median(values)
    return {
        "median": round(median, digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "spread_pct": round(100 * (max(values) - min(values)) / median, 1) if median else 0.0,
    }


def summary(raw: dict[str, Any]) -> dict[str, Any]:
    coverage = {k: v for k, v in raw["coverage"].items() if k not in ("unmapped", "near_misses")}
    out: dict[str, Any] = {
        "import_s": stats(raw["import"]),
        "reimport_s": stats(raw["reimport"]),
        "update_s": stats(raw["update"]),
        "read_only_s": stats(raw["read_only"]),
        "index_build_s": stats(raw["index"]),
        "index_mib": raw["index_mib"],
        "older_snapshot": raw["older_snapshot"],
        "coverage": coverage,
        "results_sha256": hashlib.sha256(json.dumps(raw["results"], sort_keys=True).encode()).hexdigest(),
        "queries": raw["queries"],
        "update_vs_reimport_per_repetition": [
            round(u / r, 2) for u, r in zip(raw["update"], raw["reimport"], strict=True)
        ],
    }
    for measure in ("search", "lookup", "like"):
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            out[f"{measure}_{name}_ms"] = stats([percentile(rep[measure], fraction) for rep in raw["search"]], 3)
    for kind in ("api", "fragment", "baseline"):
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            values = [percentile(rep["timings"][kind], fraction) for rep in raw["http"]]
            out[f"http_{kind}_{name}_ms"] = stats(values, 3)
    out["http_statuses"] = raw["http"][0]["statuses"]

    def ratio(subject: str, baseline: str) -> float:
        return round(out[subject]["median"] / out[baseline]["median"], 2)

    out["ratios"] = {
        "search_p50_vs_lookup_p50": ratio("search_p50_ms", "lookup_p50_ms"),
        "search_p99_vs_lookup_p99": ratio("search_p99_ms", "lookup_p99_ms"),
        "search_p50_vs_like_p50": ratio("search_p50_ms", "like_p50_ms"),
        "search_p99_vs_like_p99": ratio("search_p99_ms", "like_p99_ms"),
        "http_api_p50_vs_http_baseline_p50": ratio("http_api_p50_ms", "http_baseline_p50_ms"),
        "http_api_p99_vs_http_baseline_p99": ratio("http_api_p99_ms", "http_baseline_p99_ms"),
        "http_fragment_p50_vs_http_baseline_p50": ratio("http_fragment_p50_ms", "http_baseline_p50_ms"),
        "http_api_p50_vs_in_process_p50": ratio("http_api_p50_ms", "search_p50_ms"),
        "import_vs_read_only": ratio("import_s", "read_only_s"),
        "reimport_vs_read_only": ratio("reimport_s", "read_only_s"),
        "update_vs_reimport": round(statistics.median(out["update_vs_reimport_per_repetition"]), 2),
    }
    return out


def _cell(entry: dict[str, float], unit: str = "") -> str:
    return f"{entry['median']}{unit} ({entry['min']}–{entry['max']})"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Drug database benchmark",
        "",
        f"{report['date']} · Python {report['python']} · {report['machine']} · load average at start "
        f"{report['load_average_at_start']} · {report['repetitions']} repetitions, median (min–max) · 500 queries "
        "(150 prefixes, 100 typos, 100 substances, 100 codes, 50 code prefixes)",
        "",
        "## Search",
        "",
        "| database | in process p50 / p99 | lookup by CIS p50 / p99 | LIKE p50 / p99 | HTTP API p50 / p99 "
        "| HTTP fragment p50 / p99 | HTTP baseline p50 / p99 | API ÷ baseline p50 / p99 | index build | memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["databases"].items():
        r = s["ratios"]
        lines.append(
            f"| {name} | {_cell(s['search_p50_ms'])} / {_cell(s['search_p99_ms'], ' ms')} | "
            f"{s['lookup_p50_ms']['median']} / {s['lookup_p99_ms']['median']} ms | "
            f"{s['like_p50_ms']['median']} / {s['like_p99_ms']['median']} ms | "
            f"{_cell(s['http_api_p50_ms'])} / {_cell(s['http_api_p99_ms'], ' ms')} | "
            f"{s['http_fragment_p50_ms']['median']} / {s['http_fragment_p99_ms']['median']} ms | "
            f"{s['http_baseline_p50_ms']['median']} / {s['http_baseline_p99_ms']['median']} ms | "
            f"{r['http_api_p50_vs_http_baseline_p50']} / {r['http_api_p99_vs_http_baseline_p99']} | "
            f"{_cell(s['index_build_s'], ' s')} | {s['index_mib']} MiB |"
        )
    lines += [
        "",
        "## Imports",
        "",
        "| database | full import | unchanged re-import | update from an older snapshot | update ÷ re-import "
        "| read only | import ÷ read |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in report["databases"].items():
        r = s["ratios"]
        lines.append(
            f"| {name} | {_cell(s['import_s'], ' s')} | {_cell(s['reimport_s'], ' s')} | "
            f"{_cell(s['update_s'], ' s')} | "
            f"{r['update_vs_reimport']} ({', '.join(map(str, s['update_vs_reimport_per_repetition']))}) | "
            f"{_cell(s['read_only_s'], ' s')} | {r['import_vs_read_only']} |"
        )
    first = next(iter(report["databases"].values()), None)
    if first:
        c = first["coverage"]
        lines += [
            "",
            "## Interaction thesaurus coverage",
            "",
            f"{c['substances_mapped']} of {c['substances']} active substances of commercialised specialities "
            f"({c['substances_mapped_pct']} %) map to a thesaurus molecule, class or protagonist; "
            f"{c['substance_lines_mapped']} of {c['substance_lines']} composition lines "
            f"({c['substance_lines_mapped_pct']} %); "
            f"{c['products_with_a_mapped_substance']} of {c['products']} specialities have at least one "
            f"({c['homeopathic_substances']} homeopathic stocks apart). Every unmapped name: coverage.json.",
        ]
    if "same_results_on_both_databases" in report:
        same = report["same_results_on_both_databases"]
        lines += ["", f"Same results (total and first 20 CIS) for the 500 queries on SQLite and PostgreSQL: {same}."]
    lines += ["", report["aim"], "", report["note"], ""]
    return "\n".join(lines)

"""PNG plots of a run: latency-quality over effort levels, ratings with intervals, latency histograms."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402

from .summary import RunSummary  # noqa: E402

EFFORT_ORDER = ("instant", "low", "medium", "high")


def _mean(values: list[float]) -> float:
    values = [value for value in values if value is not None and not math.isnan(value)]
    return sum(values) / len(values) if values else math.nan


def quality_by_system(summary: RunSummary) -> dict[str, dict[str, float]]:
    """Return system -> macro averages over suites: pass@1, exact match and edit similarity."""
    table: dict[str, dict[str, float]] = {}
    for system in summary.systems:
        mine = [score for score in summary.scores if score.system == system]
        table[system] = {
            "pass@1": _mean([score.pass_at.get(1) for score in mine if score.judged_by == "execution"]),
            "exact": _mean([score.exact for score in mine if score.exact is not None]),
            "similarity": _mean([score.similarity for score in mine if score.similarity is not None]),
        }
    return table


def effort_systems(summary: RunSummary) -> list[str]:
    """Return the pipeline systems in effort order (instant to high)."""
    found = [(name, info.effort) for name, info in summary.latency.items() if info.effort in EFFORT_ORDER]
    return [name for name, effort in sorted(found, key=lambda item: EFFORT_ORDER.index(item[1]))]


def plot_latency_quality(summary: RunSummary, path: Path) -> None:
    quality = quality_by_system(summary)
    systems = effort_systems(summary)
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for axis, metric, label in zip(axes, ("pass@1", "exact", "similarity"),
                                   ("pass@1 (execution suites)", "exact match (suites with a reference)",
                                    "edit similarity (suites with a reference)")):
        xs = [summary.latency[name].p50 for name in systems]
        ys = [quality[name][metric] for name in systems]
        axis.plot(xs, ys, marker="o", color="tab:blue", label="wall-clock p50")
        for name, x, y in zip(systems, xs, ys):
            axis.annotate(summary.latency[name].effort, (x, y), textcoords="offset points", xytext=(4, 4))
        cpu = [summary.latency[name].cpu_p50 for name in systems]
        if systems and all(value is not None for value in cpu):
            axis.plot(cpu, ys, marker="s", linestyle="--", color="tab:orange", label="CPU time p50")
        for name in summary.systems:
            if name not in systems and not math.isnan(quality[name][metric]):
                axis.axhline(quality[name][metric], linestyle=":", linewidth=1, color="gray")
                axis.annotate(name, (0, quality[name][metric]), xycoords=("axes fraction", "data"),
                              textcoords="offset points", xytext=(2, 2), fontsize=7, color="gray")
        if any(value > 0 for value in xs):
            axis.set_xscale("log")
        axis.set_xlabel("per completion (ms, log scale)")
        axis.set_title(label, fontsize=9)
        axis.grid(alpha=0.3)
        if systems:
            axis.legend(fontsize=7, loc="center right")
    figure.suptitle("Quality against latency over effort levels (dotted: reference systems)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_ratings(summary: RunSummary, path: Path) -> None:
    ratings = list(reversed(summary.ratings))
    figure, axis = plt.subplots(figsize=(7, 0.5 * len(ratings) + 1.2))
    ys = range(len(ratings))
    centres = [rating.rating for rating in ratings]
    errors = [[rating.rating - rating.lower for rating in ratings], [rating.upper - rating.rating for rating in ratings]]
    axis.errorbar(centres, ys, xerr=errors, fmt="o", capsize=4)
    axis.set_yticks(list(ys), [rating.system for rating in ratings])
    axis.set_xlabel("Bradley-Terry rating (Elo scale) with 95% bootstrap interval")
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_latency_histograms(summary: RunSummary, path: Path, deadline_ms: float) -> None:
    systems = [name for name, info in summary.latency.items() if info.kind != "reference" and info.latencies_ms]
    if not systems:
        systems = list(summary.latency)
    figure, axes = plt.subplots(len(systems), 1, figsize=(8, 1.8 * len(systems) + 0.6), sharex=True, squeeze=False)
    largest = max((max(summary.latency[name].latencies_ms, default=1.0) for name in systems), default=1.0)
    bins = [10 ** (i / 20) for i in range(0, int(20 * math.log10(max(largest, 10))) + 2)]
    for axis, name in zip(axes[:, 0], systems):
        info = summary.latency[name]
        axis.hist([max(value, 1.0) for value in info.latencies_ms], bins=bins, color="tab:blue", alpha=0.8)
        axis.axvline(deadline_ms, color="tab:red", linestyle="--", linewidth=1)
        axis.set_xscale("log")
        axis.set_ylabel("count")
        axis.set_title(f"{name}: p50 {info.p50:.0f} ms, p95 {info.p95:.0f} ms", fontsize=9)
    axes[-1, 0].set_xlabel(f"latency per completion (ms, log scale); dashed: deadline {deadline_ms:g} ms")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_plots(summary: RunSummary, folder: Path, deadline_ms: float) -> dict[str, str]:
    """Write every plot into ``folder``; return plot name -> file name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"latency_quality": "latency_quality.png", "ratings": "ratings.png", "latency": "latency_histograms.png"}
    plot_latency_quality(summary, folder / files["latency_quality"])
    if summary.ratings:
        plot_ratings(summary, folder / files["ratings"])
    else:
        files.pop("ratings")
    plot_latency_histograms(summary, folder / files["latency"], deadline_ms)
    return files


__all__ = ["effort_systems", "quality_by_system", "write_plots"]

"""The markdown report of a run."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from .plots import effort_systems, quality_by_system
from .summary import RunSummary
from .tasks import REPOSITORY

JUDGE_RULES = """\
Each battle puts two systems on the same position; which one is displayed first is
drawn at random. The judge decides by the first rule that separates them:

1. execution: a completion whose test program passes beats one that fails (two passes tie);
2. exact match with the reference middle (two exact matches tie);
3. edit similarity to the reference, when the gap is at least {margin:g};
4. at positions without a reference: fewer defects wins. The defects are: empty text,
   text without code (only dots, underscores and the like), leaked special tokens,
   text that repeats the code after the cursor, lines that copy the last lines
   before the cursor, degenerate repetition, a double space after `x = `, syntax
   errors that tree-sitter finds near the cursor, and brackets left unbalanced;
5. otherwise a tie.

A completion that failed or took longer than {deadline:g} ms counts as not shown
(an empty text). Ratings are Bradley-Terry maximum likelihood with ties as half
wins and one virtual tie per pair, on the Elo scale (mean 1000); the interval is
the 2.5-97.5 percentile of {rounds} bootstrap refits over resampled battles."""


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def _model_line(config, training: dict) -> str:
    if not config.model:
        return "- Model: none (no pipeline system in this run)."
    path = Path(config.model)
    shown = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path
    return (f"- Model: `{shown}` ({config.model_fingerprint}), held-out loss "
            f"{_number(training.get('valid_loss'))} at export.")


def setup_section(summary: RunSummary, config) -> list[str]:
    env = summary.environment
    training = env.get("model_training") or {}
    lines = ["## Setup", "",
             f"- Machine: {env.get('cpu')}, {env.get('cores')} cores, load average {env.get('load_average_1m')} "
             f"at the start and {env.get('load_average_1m_end', '?')} after the completions; Python "
             f"{env.get('python')}, torch {env.get('torch')} with {config.threads or env.get('torch_threads')} "
             "thread(s) for the model.",
             f"- Code: commit {env.get('commit')}; run started {env.get('date')}.",
             _model_line(config, training),
             f"- Deadline {config.deadline_ms:g} ms; edit-similarity margin {config.margin:g}; sandbox limits "
             f"{config.sandbox_timeout_s:g} s wall clock and {config.sandbox_memory_mb} MiB per program, "
             "one program at a time." if config.jobs == 1 else f"{config.jobs} programs in parallel.",
             f"- Positions: at most {config.limit if config.limit is not None else 'all'} per suite, drawn without "
             f"replacement with seed {config.seed}; {config.samples} completion(s) per system and position.", "",
             "| suite | judged by | positions used | positions available |", "|---|---|---:|---:|"]
    judged_by = {score.suite: score.judged_by for score in summary.scores}
    for suite, count in summary.selected.items():
        lines.append(f"| {suite} | {judged_by.get(suite, '-')} | {count} | {summary.available.get(suite, '-')} |")
    return lines + [""]


def quality_section(summary: RunSummary, config) -> list[str]:
    lines = ["## Quality by suite", "",
             "Raw completions, before the deadline rule. `non-empty` is the share with any text; `shown` is the "
             "share returned without error within the deadline. Latency is wall-clock time per completion.", ""]
    ks = sorted({k for score in summary.scores for k in score.pass_at})
    header = ["system", *[f"pass@{k}" for k in ks], "exact match", "edit sim.", "no defect", "non-empty", "shown",
              "p50 ms", "p95 ms", "errors"]
    for suite in summary.selected:
        rows = [score for score in summary.scores if score.suite == suite]
        if not rows:
            continue
        lines += [f"### {suite}", "", "| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
        for score in rows:
            cells = [score.system, *[_percent(score.pass_at.get(k)) for k in ks], _percent(score.exact),
                     _number(score.similarity), _percent(score.clean), _percent(score.nonempty), _percent(score.shown),
                     _number(score.latency_p50, 0), _number(score.latency_p95, 0), str(score.errors)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def effort_section(summary: RunSummary, plots: dict[str, str]) -> list[str]:
    quality = quality_by_system(summary)
    lines = ["## Latency and quality over effort levels", "",
             "Macro averages over suites: pass@1 over the execution suites, exact match and edit similarity over "
             "the suites with a reference middle.", "",
             "Latency is wall-clock time per completion on this machine, as loaded as it was; CPU is the "
             "process CPU time per completion (all threads), which other load on the machine inflates far less.", "",
             "| system | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | mean model steps | pass@1 | exact match "
             "| edit sim. |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ordered = effort_systems(summary) + [name for name in summary.systems if name not in effort_systems(summary)]
    for name in ordered:
        info, values = summary.latency[name], quality[name]
        lines.append(f"| {name} | {_number(info.p50, 0)} | {_number(info.p95, 0)} | {_number(info.cpu_p50, 0)} "
                     f"| {_number(info.cpu_p95, 0)} | {_number(info.mean_model_steps, 1)} "
                     f"| {_percent(values['pass@1'])} | {_percent(values['exact'])} | {_number(values['similarity'])} |")
    if "latency_quality" in plots:
        lines += ["", f"![latency against quality]({plots['latency_quality']})"]
    return lines + [""]


def arena_section(summary: RunSummary, config, plots: dict[str, str]) -> list[str]:
    if summary.battles:
        lines = battle_lines(summary, config, plots)
    else:
        lines = ["## Arena", "", "No battles: an arena needs at least two systems (`--systems`)."]
    if "latency" in plots:
        lines += ["", "### Latency per completion", "", f"![latency histograms]({plots['latency']})"]
    return lines + [""]


def battle_lines(summary: RunSummary, config, plots: dict[str, str]) -> list[str]:
    """Return the arena heading, judge rules, rating table and rating plot of a run with battles."""
    lines = ["## Arena", "", JUDGE_RULES.format(margin=config.margin, deadline=config.deadline_ms,
                                                rounds=config.bootstrap_rounds), "",
             "| rank | system | rating | 95% interval | battles | wins | ties | losses |",
             "|---:|---|---:|---|---:|---:|---:|---:|"]
    for rank, rating in enumerate(summary.ratings, start=1):
        lines.append(f"| {rank} | {rating.system} | {rating.rating:.0f} | {rating.lower:.0f} to {rating.upper:.0f} "
                     f"| {rating.battles} | {rating.wins} | {rating.ties} | {rating.losses} |")
    reasons = Counter(battle.reason for battle in summary.battles)
    lines += ["", f"{len(summary.battles)} battles; deciding rule: "
              + ", ".join(f"{reason} {count}" for reason, count in reasons.most_common()) + "."]
    if "ratings" in plots:
        lines += ["", f"![ratings]({plots['ratings']})"]
    return lines


def agreement_section(summary: RunSummary) -> list[str]:
    agreement = summary.agreement
    if agreement is None:
        return ["## Judge agreement with human votes", "", "Not measured: the Copilot Arena file was not found.", ""]
    decided = agreement.decided
    lines = ["## Judge agreement with human votes", "",
             f"The judge compared `completion_a` with `completion_b` of the {agreement.votes} Copilot Arena rows "
             "without ground truth (rule 4 above) and never saw which was displayed first.", "",
             "| votes | user accepted the first | judge decided | judge agreed | judge tied | agreement when decided |",
             "|---:|---:|---:|---:|---:|---:|",
             f"| {agreement.votes} | {agreement.first_accepted} ({_percent(agreement.first_accepted / max(agreement.votes, 1))}) "
             f"| {decided} | {agreement.agreed} | {agreement.ties} | "
             f"{_percent(agreement.agreed / decided) if decided else '-'} |", "",
             "Defects found in the accepted and in the rejected completion:", "",
             "| defect | accepted | rejected |", "|---|---:|---:|"]
    for defect in sorted(set(agreement.defects_accepted) | set(agreement.defects_rejected)):
        lines.append(f"| {defect} | {agreement.defects_accepted[defect]} | {agreement.defects_rejected[defect]} |")
    return lines + [""]


def render_report(summary: RunSummary, config, plots: dict[str, str], title: str, command: str,
                  missing: tuple[int, int] = (0, 0)) -> str:
    lines = [f"# Evaluation report: {title}", ""]
    if missing[0]:
        lines += [f"**Incomplete run:** {missing[0]} of {missing[1]} completions are missing (the run stopped early, "
                  "or a system raised on them), so the figures below cover only the rest. Run the same command "
                  "again to finish it.", ""]
    lines += ["The `pipeline` systems complete through `fim_server.pipeline.CompletionPipeline`, the code path the "
              "editor front ends use. `empty`, `repeat-line` and `reference` are baselines that run no model, and "
              "`http` systems send each position to a completion server. Reproduce with:", "", "```", command, "```",
              ""]
    lines += setup_section(summary, config)
    lines += effort_section(summary, plots)
    lines += arena_section(summary, config, plots)
    lines += agreement_section(summary)
    lines += quality_section(summary, config)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["render_report"]

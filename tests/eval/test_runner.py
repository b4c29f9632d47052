import json

import pytest

from fim_server.cli import main as cli_main
from fim_server.evaluation.holes import cut_holes, save_holes
from fim_server.evaluation.records import read_rows
from fim_server.evaluation.runner import RunConfig, RunError, rejudge, run_evaluation
from fim_server.evaluation.systems import SYSTEM_KINDS, Completion, register_system

SOURCE = "def mean(values):\n    if not values:\n        return 0.0\n    total = sum(values)\n    return total / len(values)\n\n\ndef spread(values):\n    return max(values) - min(values)\n"


class LateOracle:
    """Returns the reference middle but reports a latency far beyond any deadline."""

    kind = "model"
    builds = 0

    def __init__(self, name, fail_after=None):
        self.name = name
        self.fail_after = fail_after
        self.calls = 0

    def warm_up(self):
        pass

    def complete(self, task):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        return Completion(text=task.reference, latency_ms=5000.0)

    def close(self):
        pass


@pytest.fixture
def late_oracle():
    def build(options, context):
        LateOracle.builds += 1
        fail_after = int(options["fail_after"]) if "fail_after" in options else None
        return LateOracle(options.get("name", "late-oracle"), fail_after)

    LateOracle.builds = 0
    register_system("late-oracle")(build)
    yield LateOracle
    SYSTEM_KINDS.pop("late-oracle")


@pytest.fixture
def hole_file(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "stats.py").write_text(SOURCE)
    path = tmp_path / "stats-holes.jsonl"
    save_holes(cut_holes(folder, count=6, seed=0), path)
    return path


def make_config(tiny_data, hole_file, **overrides):
    values = dict(suites=["humaneval-single", "copilot-arena", f"holes:{hole_file}"],
                  systems=["empty", "repeat-line", "reference", "late-oracle"], data=str(tiny_data), limit=None,
                  jobs=2, bootstrap_rounds=20, sandbox_timeout_s=3.0)
    values.update(overrides)
    return RunConfig(**values)


def test_run_report_ranks_reference_first(tiny_data, hole_file, late_oracle, tmp_path):
    run_dir, report_dir = tmp_path / "run", tmp_path / "report"
    summary = run_evaluation(make_config(tiny_data, hole_file), run_dir, report_dir)
    ratings = {rating.system: rating.rating for rating in summary.ratings}
    assert summary.ratings[0].system == "reference"
    assert ratings["reference"] > ratings["repeat-line"] > ratings["empty"]
    # Never shown within the deadline, the late oracle is judged as an empty completion.
    late_against_empty = [b for b in summary.battles if {b.first, b.second} == {"late-oracle", "empty"}]
    assert len(late_against_empty) == 3 + 6
    assert all(battle.outcome == 0.5 for battle in late_against_empty)
    for name in ("report.md", "summary.json", "latency_quality.png", "ratings.png", "latency_histograms.png"):
        assert (report_dir / name).stat().st_size > 0
    report = (report_dir / "report.md").read_text()
    assert "## Arena" in report
    assert "| humaneval-single | execution | 3 | 3 |" in report
    rows = read_rows(run_dir / "completions.jsonl")
    assert len(rows) == 4 * (3 + 2 + 6)
    skipped = [row for row in rows if row["text"] is None]  # no reference middle at the arena positions
    assert sorted(row["system"] for row in skipped) == ["late-oracle", "late-oracle", "reference", "reference"]
    scores = {(s.system, s.suite): s for s in summary.scores}
    assert scores[("reference", "humaneval-single")].pass_at[1] == 1.0
    assert scores[("empty", "humaneval-single")].pass_at[1] == 0.0
    assert scores[("late-oracle", "humaneval-single")].shown == 0.0


def test_late_completions_count_as_not_shown(tiny_data, hole_file, late_oracle, tmp_path):
    run_dir = tmp_path / "run"
    summary = run_evaluation(make_config(tiny_data, hole_file), run_dir, run_dir)
    late = [b for b in summary.battles if {b.first, b.second} == {"late-oracle", "reference"}]
    assert late and all(b.outcome == (1.0 if b.first == "reference" else 0.0) for b in late)

    relaxed = rejudge(run_dir, tmp_path / "relaxed", {"deadline_ms": 10_000.0})
    late = [b for b in relaxed.battles if {b.first, b.second} == {"late-oracle", "reference"}]
    assert late and all(b.outcome == 0.5 for b in late)
    assert json.loads((tmp_path / "relaxed" / "summary.json").read_text())["config"]["deadline_ms"] == 10_000.0


def test_resume_skips_finished_rows(tiny_data, hole_file, late_oracle, tmp_path):
    run_dir = tmp_path / "run"
    config = make_config(tiny_data, hole_file)
    run_evaluation(config, run_dir, run_dir)
    path = run_dir / "completions.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-3]) + lines[-3][: len(lines[-3]) // 2])  # interrupted mid-write
    late_oracle.builds = 0
    run_evaluation(config, run_dir, run_dir)
    rows = read_rows(path)
    keys = [(row["system_spec"], row["task_id"], row["sample"]) for row in rows]
    assert len(keys) == len(lines)
    assert len(set(keys)) == len(keys)
    assert late_oracle.builds == 1  # only the system with missing rows was built again


def test_resume_rejects_changed_positions(tiny_data, hole_file, late_oracle, tmp_path):
    run_dir = tmp_path / "run"
    run_evaluation(make_config(tiny_data, hole_file, systems=["empty"]), run_dir, run_dir)
    with pytest.raises(RunError, match="seed"):
        run_evaluation(make_config(tiny_data, hole_file, systems=["empty"], seed=9), run_dir, run_dir)


def test_cli_run_interrupt_and_resume(tiny_data, late_oracle, tmp_path, capsys):
    out = tmp_path / "run"
    arguments = ["eval", "run", "--suites", "humaneval-single", "--data", str(tiny_data), "--limit", "all",
                 "--bootstrap", "10", "--out", str(out), "--systems", "empty", "late-oracle:fail_after=1"]
    # Each rebuilt system completes one more row before it is interrupted again.
    assert cli_main(arguments) == 130
    assert "run the same command again" in capsys.readouterr().err
    assert len(read_rows(out / "completions.jsonl")) == 3 + 1
    assert cli_main(arguments) == 130
    assert cli_main(arguments) == 0
    assert "report:" in capsys.readouterr().out
    rows = read_rows(out / "completions.jsonl")
    assert len(rows) == 6
    assert len({(row["system"], row["task_id"]) for row in rows}) == 6


def test_cli_reports_bad_input(tiny_data, tmp_path, capsys):
    assert cli_main(["eval", "run", "--systems", "beam:wide", "--out", str(tmp_path / "a")]) == 2
    assert "unknown system kind 'beam'" in capsys.readouterr().err
    assert cli_main(["eval", "run", "--systems", "empty", "--suites", "santacoder", "--data", str(tiny_data),
                     "--out", str(tmp_path / "b")]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli_main(["eval", "rejudge", str(tmp_path / "missing")]) == 2
    assert "earlier `fim-server eval run`" in capsys.readouterr().err


def test_cli_holes_and_agreement(tiny_data, tmp_path, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "stats.py").write_text(SOURCE)
    out = tmp_path / "holes.jsonl"
    assert cli_main(["eval", "holes", str(folder), "--out", str(out), "--count", "6", "--seed", "1"]) == 0
    assert len(read_rows(out)) == 6
    assert cli_main(["eval", "agreement", "--data", str(tiny_data)]) == 0
    printed = capsys.readouterr().out
    assert "votes 2; the user accepted the first completion in 1" in printed
    assert "judge decided 2, agreed 1" in printed


def test_reproduce_command_lists_what_differs(tmp_path):
    from fim_server.evaluation.runner import REPOSITORY, reproduce_command
    from fim_server.evaluation.tasks import DEFAULT_DATA

    default = RunConfig(data=str(DEFAULT_DATA), limit=15)
    command = reproduce_command(default, REPOSITORY / "eval/runs/x", REPOSITORY / "eval/reports/x")
    assert command == "fim-server eval run --limit 15 --seed 0 --out eval/runs/x --report eval/reports/x"

    changed = RunConfig(data=str(tmp_path), systems=["empty"], limit=None, seed=3, threads=1, deadline_ms=500.0)
    command = reproduce_command(changed, tmp_path / "run", tmp_path / "report")
    assert command.startswith("fim-server eval run --systems empty --data ")
    assert "--limit all --seed 3 --threads 1 --deadline-ms 500 --out " in command

    judged = RunConfig(data=str(DEFAULT_DATA), limit=15, sandbox_timeout_s=2.5, sandbox_memory_mb=512,
                       bootstrap_rounds=50, jobs=7)
    command = reproduce_command(judged, REPOSITORY / "eval/runs/x", REPOSITORY / "eval/reports/x")
    assert "--sandbox-timeout 2.5 --sandbox-memory 512 --bootstrap 50 --out " in command
    assert "--jobs" not in command


class Flaky:
    """Raises on the positions listed in ``broken`` and returns an empty text elsewhere."""

    kind = "model"
    broken: set = set()

    def __init__(self, name):
        self.name = name

    def warm_up(self):
        pass

    def complete(self, task):
        if task.task_id in Flaky.broken:
            raise RuntimeError(f"engine failure on {task.task_id}")
        return Completion(text="", latency_ms=1.0)

    def close(self):
        pass


@pytest.fixture
def flaky():
    register_system("flaky")(lambda options, context: Flaky(options.get("name", "flaky")))
    yield Flaky
    SYSTEM_KINDS.pop("flaky")


def test_exception_rows_are_retried_on_resume(tiny_data, hole_file, flaky, tmp_path):
    run_dir = tmp_path / "run"
    config = make_config(tiny_data, hole_file, systems=["flaky"], suites=["humaneval-single"])
    flaky.broken = {"humaneval-single/Tiny/1/L2"}
    run_evaluation(config, run_dir, run_dir)
    rows = read_rows(run_dir / "completions.jsonl")
    failed = [row for row in rows if row["error"]]
    assert [row["task_id"] for row in failed] == ["humaneval-single/Tiny/1/L2"]
    assert failed[0]["error"].startswith("exception: RuntimeError: engine failure")

    flaky.broken = set()
    run_evaluation(config, run_dir, run_dir)
    rows = read_rows(run_dir / "completions.jsonl")
    assert len(rows) == 4  # three first rows and the retried one
    report = (run_dir / "report.md").read_text()
    assert "| flaky | 0.0% |" in report


def test_repeated_exceptions_stop_the_run(tiny_data, hole_file, flaky, tmp_path):
    config = make_config(tiny_data, hole_file, systems=["flaky"], suites=["humaneval-single"])
    flaky.broken = {f"humaneval-single/Tiny/{i}/L{line}" for i, line in ((0, 1), (1, 2), (2, 1))}
    with pytest.raises(RunError, match="raised on 3 positions in a row"):
        run_evaluation(config, tmp_path / "run", tmp_path / "run")


def test_incomplete_run_is_flagged(tiny_data, hole_file, flaky, tmp_path):
    run_dir = tmp_path / "run"
    config = make_config(tiny_data, hole_file, systems=["flaky"], suites=["humaneval-single"])
    flaky.broken = {"humaneval-single/Tiny/1/L2"}
    run_evaluation(config, run_dir, run_dir)
    report = (run_dir / "report.md").read_text()
    assert "**Incomplete run:** 1 of 3 completions are missing" in report
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["completions_missing"] == 1
    assert summary["completions_expected"] == 3


def test_rejudge_without_completions(tiny_data, hole_file, tmp_path):
    run_dir = tmp_path / "run"
    run_evaluation(make_config(tiny_data, hole_file, systems=["empty"], suites=["humaneval-single"]), run_dir,
                   run_dir)
    (run_dir / "completions.jsonl").write_text("")
    with pytest.raises(RunError, match="has no completions yet: run the same `fim-server eval run` command again"):
        rejudge(run_dir, run_dir, {})


def test_new_sandbox_limit_reruns_tests(tiny_data, hole_file, tmp_path):
    run_dir = tmp_path / "run"
    config = make_config(tiny_data, hole_file, systems=["reference"], suites=["humaneval-single"])
    run_evaluation(config, run_dir, run_dir)
    path = run_dir / "executions.jsonl"
    first = read_rows(path)
    assert first
    assert all(row["limits"] == {"timeout_s": 3.0, "memory_mb": 1024} for row in first)
    run_evaluation(config, run_dir, run_dir)
    assert len(read_rows(path)) == len(first), "the same limits reuse the outcomes"
    longer = make_config(tiny_data, hole_file, systems=["reference"], suites=["humaneval-single"],
                         sandbox_timeout_s=4.0)
    run_evaluation(longer, run_dir, run_dir)
    rows = read_rows(path)
    assert len(rows) == 2 * len(first)
    assert all(row["limits"]["timeout_s"] == 4.0 for row in rows[len(first):])


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--samples", "0", "invalid value '0': use a whole number >= 1"),
    ("--limit", "abc", "invalid value 'abc': use a whole number >= 1 or 'all'"),
    ("--margin", "-1", "invalid value '-1': use an edit-similarity gap from 0 to 1"),
    ("--sandbox-timeout", "0", "invalid value '0': use a number > 0"),
])
def test_cli_rejects_bad_numbers(flag, value, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli_main(["eval", "run", flag, value])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_single_system_report(tiny_data, hole_file, tmp_path):
    run_dir = tmp_path / "run"
    run_evaluation(make_config(tiny_data, hole_file, systems=["empty"], suites=["humaneval-single"]), run_dir,
                   run_dir)
    report = (run_dir / "report.md").read_text()
    assert "No battles: an arena needs at least two systems" in report
    assert "deciding rule: ." not in report


def test_cli_without_model_skips_dtype(tiny_data, tmp_path, caplog):
    # Reference systems load no model, so the run neither probes the CPU for bfloat16 nor logs it.
    out = tmp_path / "run"
    caplog.set_level("INFO")
    assert cli_main(["eval", "run", "--suites", "humaneval-single", "--data", str(tiny_data), "--limit", "all",
                     "--bootstrap", "10", "--out", str(out), "--systems", "empty"]) == 0
    assert not [record for record in caplog.records if "dtype" in record.getMessage()]
    assert json.loads((out / "run.json").read_text())["dtype"] == "auto"

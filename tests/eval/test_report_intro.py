"""The report's opening sentence names the systems that ran the completion pipeline."""

from fim_server.evaluation.runner import RunConfig, run_evaluation


def test_baseline_run_claims_no_pipeline(tiny_data, tmp_path):
    config = RunConfig(suites=["humaneval-single"], systems=["empty", "reference"], data=str(tiny_data), limit=None,
                       jobs=2, bootstrap_rounds=20, sandbox_timeout_s=3.0)
    run_evaluation(config, tmp_path / "run", tmp_path / "run")
    opening = (tmp_path / "run" / "report.md").read_text().split("Reproduce with:")[0]
    assert "Every completion went through" not in opening
    assert "`empty`, `repeat-line` and `reference` are baselines that run no model" in opening

import os
from pathlib import Path

import pytest

from fim_server.evaluation import DEFAULT_DATA, DataError, load_suite, subsample
from fim_server.evaluation.datasets import load_arena_votes
from fim_server.evaluation.sandbox import SandboxLimits, run_program
from fim_server.evaluation.tasks import guess_language

SHARED_DATA = Path(os.environ.get("FIM_SERVER_EVAL_DATA", DEFAULT_DATA))

PUBLIC_SIZES = {"humaneval-single": 1033, "humaneval-multi": 5815, "humaneval-span": 1640, "santacoder": 4792,
                "cceval": 100, "copilot-arena": 112}


def test_tiny_suite_loads_with_tests(tiny_data):
    tasks = load_suite("humaneval-single", tiny_data)
    assert [task.task_id for task in tasks] == ["humaneval-single/Tiny/0/L1", "humaneval-single/Tiny/1/L2",
                                               "humaneval-single/Tiny/2/L1"]
    assert all(task.judged_by == "execution" for task in tasks)
    assert tasks[0].program("    return 2 * x\n").endswith("check(double)\n")


def test_canonical_middles_pass_and_wrong_ones_fail(tiny_data):
    limits = SandboxLimits(timeout_s=3.0)
    for task in load_suite("humaneval-single", tiny_data):
        assert run_program(task.program(task.reference), limits).passed, task.task_id
        assert not run_program(task.program(""), limits).passed, task.task_id


def test_missing_data_file_names_the_fix(tmp_path):
    with pytest.raises(DataError, match="--data"):
        load_suite("santacoder", tmp_path)


def test_unknown_suite_lists_known_ones(tmp_path):
    with pytest.raises(DataError, match="humaneval-single"):
        load_suite("nonsense", tmp_path)


def test_subsample_is_seeded_and_keeps_source_order(tiny_data):
    tasks = load_suite("humaneval-single", tiny_data)
    first = subsample(tasks, 2, seed=5)
    assert first == subsample(tasks, 2, seed=5)
    assert len(first) == 2
    assert [tasks.index(task) for task in first] == sorted(tasks.index(task) for task in first)
    assert subsample(tasks, None, seed=5) == tasks
    assert subsample(tasks, 10, seed=5) == tasks


def test_arena_votes_have_a_guessed_language(tiny_data):
    votes = load_arena_votes(tiny_data)
    assert [vote.accepted_index for vote in votes] == [0, 1]
    assert votes[0].task.language == "python"
    assert votes[1].task.language == "javascript"
    assert votes[0].task.judged_by == "heuristic"


@pytest.mark.parametrize("text, language", [
    ("import os\n\ndef main():\n    print(os.getcwd())\n", "python"),
    ("#include <vector>\nstd::vector<int> v;\n", "cpp"),
    ("package main\n\nfunc main() {\n    x := 1\n}\n", "go"),
    ("public static void main(String[] args) {\n    System.out.println(1);\n}\n", "java"),
    ("<html><body></body></html>", None),
])
def test_guess_language(text, language):
    assert guess_language(text) == language


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="benchmark data folder not present")
@pytest.mark.parametrize("suite", sorted(PUBLIC_SIZES))
def test_public_suites_load_in_full(suite):
    tasks = load_suite(suite, SHARED_DATA)
    assert len(tasks) == PUBLIC_SIZES[suite]
    assert len({task.task_id for task in tasks}) == len(tasks)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="benchmark data folder not present")
def test_public_canonical_middles_pass():
    limits = SandboxLimits(timeout_s=10.0)
    for suite in ("humaneval-single", "humaneval-multi", "humaneval-span"):
        for task in subsample(load_suite(suite, SHARED_DATA), 3, seed=0):
            result = run_program(task.program(task.reference), limits)
            assert result.passed, (task.task_id, result.detail)

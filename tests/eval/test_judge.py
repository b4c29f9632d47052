import pytest

from fim_server.evaluation.heuristics import bracket_errors, completion_defects
from fim_server.evaluation.judge import Judged, judge_battle, judge_completion, shown_text
from fim_server.evaluation.tasks import Task

EXECUTION_TASK = Task(task_id="t/1", suite="t", prefix="def f(x):\n", suffix="\n", language="python",
                      reference="    return x + 1", test="def check(f):\n    assert f(1) == 2\n", entry_point="f")
MATCH_TASK = Task(task_id="t/2", suite="t", prefix="total = ", suffix="\n", language="python",
                  reference="price * count", single_line=True)
OPEN_TASK = Task(task_id="t/3", suite="t", prefix="values = compute(", suffix=")\nprint(values)\n",
                 language="python")


def test_execution_decides_before_match():
    passing = judge_completion(EXECUTION_TASK, True, "    return 1 + x", passed=True)
    failing_exact = judge_completion(EXECUTION_TASK, True, "    return x + 1", passed=False)
    verdict = judge_battle(passing, failing_exact)
    assert verdict.outcome == 1.0
    assert verdict.reason == "execution"


def test_two_passing_completions_tie():
    first = judge_completion(EXECUTION_TASK, True, "    return x + 1", passed=True)
    second = judge_completion(EXECUTION_TASK, True, "    return 1 + x", passed=True)
    assert judge_battle(first, second).outcome == 0.5


def test_two_failing_completions_fall_through_to_similarity():
    close = judge_completion(EXECUTION_TASK, True, "    return x + 2", passed=False)
    far = judge_completion(EXECUTION_TASK, True, "    pass", passed=False)
    verdict = judge_battle(far, close)
    assert verdict.outcome == 0.0
    assert verdict.reason == "edit similarity"


def test_exact_match_wins():
    exact = judge_completion(MATCH_TASK, True, "price * count")
    near = judge_completion(MATCH_TASK, True, "price * counts")
    verdict = judge_battle(near, exact)
    assert verdict.outcome == 0.0
    assert verdict.reason == "exact match"


def test_small_similarity_gap_is_a_tie():
    first = judge_completion(MATCH_TASK, True, "price * amount")
    second = judge_completion(MATCH_TASK, True, "price * amounts")
    assert abs(first.similarity - second.similarity) < 0.1
    assert judge_battle(first, second, margin=0.1).outcome == 0.5


def test_verdict_flips_with_display_order():
    good = judge_completion(MATCH_TASK, True, "price * count")
    bad = judge_completion(MATCH_TASK, True, "")
    assert judge_battle(good, bad).outcome == 1.0
    assert judge_battle(bad, good).outcome == 0.0


def test_execution_task_requires_sandbox_outcome():
    with pytest.raises(ValueError):
        judge_completion(EXECUTION_TASK, True, "    return x + 1")


def test_late_completion_is_not_shown():
    assert shown_text("x + 1", None, 1500.0, 1000.0) == (False, "")
    assert shown_text("x + 1", None, 999.0, 1000.0) == (True, "x + 1")
    assert shown_text("x + 1", "stopped", 10.0, 1000.0) == (False, "")
    assert shown_text(None, None, 10.0, 1000.0) == (False, "")


def test_not_shown_loses_to_correct_on_reference_task():
    shown, text = shown_text("price * count", None, 5000.0, 1000.0)
    late = judge_completion(MATCH_TASK, shown, text)
    prompt = judge_completion(MATCH_TASK, True, "price * count")
    assert judge_battle(prompt, late).outcome == 1.0


def test_defects_decide_without_reference():
    clean = judge_completion(OPEN_TASK, True, "items, key=len")
    duplicated = judge_completion(OPEN_TASK, True, "items, key=len)")
    assert clean.defects == ()
    assert "repeats_suffix" in duplicated.defects
    verdict = judge_battle(duplicated, clean)
    assert verdict.outcome == 0.0
    assert verdict.reason == "fewer defects"


def test_broken_syntax_loses_to_empty_without_reference():
    empty = judge_completion(OPEN_TASK, True, "")
    garbage = judge_completion(OPEN_TASK, True, "((((,,")
    assert empty.defects == ("empty",)
    assert set(garbage.defects) == {"no_code", "syntax_errors", "unbalanced_brackets"}
    assert judge_battle(empty, garbage).outcome == 1.0


def test_one_defect_ties_with_empty():
    task = Task(task_id="t/4", suite="t", prefix="answer = ", suffix="\n", language="python")
    empty = judge_completion(task, True, "")
    spaced = judge_completion(task, True, " 42")
    assert spaced.defects == ("double_space",)
    assert judge_battle(spaced, empty).outcome == 0.5


@pytest.mark.parametrize("text, defect", [
    ("<|eom|>items", "special_tokens"),
    ("items)\nprint(values)", "repeats_suffix"),
    ("a, a, a, a, a, a, a, a", "repetitive"),
    ("x\nx = 1\nx = 1\nx = 1", "repetitive"),
])
def test_defect_detectors(text, defect):
    assert defect in completion_defects(text, OPEN_TASK.prefix, OPEN_TASK.suffix, "python")


def test_double_space_after_assignment():
    assert "double_space" in completion_defects(" 42", "answer = ", "\n", "python")
    assert completion_defects("42", "answer = ", "\n", "python") == ()


def test_copying_previous_lines_is_a_defect():
    prefix = "for item in items:\n    total += item.price * item.count\n"
    assert "repeats_prefix" in completion_defects("    total += item.price * item.count", prefix, "\n", "python")


def test_bracket_errors_ignore_strings_and_comments():
    assert bracket_errors("f('(') # )\n", "#") == 0
    assert bracket_errors("f(a[1)]", "#") == 2
    assert bracket_errors("/* { */ g(x) // }\n", "//") == 0
    assert bracket_errors('s = """ ( """\n(', "#") == 1


def test_unbalanced_completion_in_unknown_language():
    defects = completion_defects("compute(a, (b", "x = ", "\n", None)
    assert "unbalanced_brackets" in defects


@pytest.mark.parametrize("text, expected", [("..", True), ("___", True), (". . .", True), (")", False),
                                            ("});", False), ("x", False), ("'", False)])
def test_text_without_code(text, expected):
    assert ("no_code" in completion_defects(text, "value = f(", "\n", "python")) is expected


def test_text_without_code_ties_with_empty():
    dots = judge_completion(OPEN_TASK, True, "..")
    empty = judge_completion(OPEN_TASK, True, "")
    assert "no_code" in dots.defects
    assert judge_battle(dots, empty).outcome <= 0.5

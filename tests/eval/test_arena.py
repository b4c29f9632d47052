from fim_server.evaluation.arena import fight_battles, judge_agreement
from fim_server.evaluation.datasets import ArenaVote
from fim_server.evaluation.judge import judge_completion
from fim_server.evaluation.tasks import Task


def make_tasks(count):
    return [Task(task_id=f"t/{i}", suite="t", prefix="x = ", suffix="\n", language="python", reference=f"value_{i}",
                 single_line=True) for i in range(count)]


def test_display_order_is_randomised_and_verdicts_follow_it():
    tasks = make_tasks(40)
    judged = {
        "good": {t.task_id: judge_completion(t, True, t.reference) for t in tasks},
        "bad": {t.task_id: judge_completion(t, True, "") for t in tasks},
    }
    battles = fight_battles(judged, tasks, seed=7)
    assert len(battles) == 40
    firsts = {battle.first for battle in battles}
    assert firsts == {"good", "bad"}
    for battle in battles:
        assert battle.outcome == (1.0 if battle.first == "good" else 0.0)


def test_battles_skip_tasks_a_system_does_not_handle():
    tasks = make_tasks(5)
    judged = {
        "full": {t.task_id: judge_completion(t, True, t.reference) for t in tasks},
        "partial": {t.task_id: judge_completion(t, True, t.reference) for t in tasks[:2]},
    }
    battles = fight_battles(judged, tasks, seed=0)
    assert sorted(battle.task_id for battle in battles) == ["t/0", "t/1"]
    assert all(battle.outcome == 0.5 for battle in battles)


def test_same_seed_gives_same_display_order():
    tasks = make_tasks(20)
    judged = {name: {t.task_id: judge_completion(t, True, "") for t in tasks} for name in ("a", "b", "c")}
    assert fight_battles(judged, tasks, seed=1) == fight_battles(judged, tasks, seed=1)


def test_agreement_counts_decisions_and_ties():
    task = Task(task_id="v/1", suite="v", prefix="result = compute(", suffix=")\n", language="python")
    votes = [
        ArenaVote(task, "a, b", "a, b)", 0),  # judge prefers a: agrees
        ArenaVote(task, "a, b", "a, b)", 1),  # judge prefers a: disagrees
        ArenaVote(task, "a, b", "c, d", 0),  # no defect on either side: tie
    ]
    result = judge_agreement(votes)
    assert result.votes == 3
    assert result.decided == 2
    assert result.agreed == 1
    assert result.ties == 1
    assert result.first_accepted == 2
    assert result.defects_rejected["repeats_suffix"] == 1
    assert result.defects_accepted["repeats_suffix"] == 1

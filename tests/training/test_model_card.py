import json

from fim_server.training.model_card import _history


def write_history(folder, records):
    folder.mkdir()
    (folder / "history.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))


def test_continued_run_history_steps(tmp_path):
    record = {"tokens": 1, "train_loss": 5.0, "valid_loss": 5.0, "tokens_per_s": 100}
    write_history(tmp_path / "first", [{**record, "step": 100}, {**record, "step": 200}])
    write_history(tmp_path / "second", [{**record, "step": 50}])
    steps = [entry["step"] for entry in _history([tmp_path / "first", tmp_path / "missing", tmp_path / "second"])]
    assert steps == [100, 200, 250]

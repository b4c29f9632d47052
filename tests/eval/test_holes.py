import json

import pytest

from fim_server.evaluation import DataError
from fim_server.evaluation.holes import corpus_digests, cut_holes, load_holes, save_holes

MODULE = '''"""A small module to cut holes from."""

import math


def circle_area(radius):
    if radius < 0:
        raise ValueError("negative radius")
    return math.pi * radius ** 2


class Counter:
    def __init__(self):
        self.count = 0

    def add(self, amount=1):
        self.count += amount
        return self.count
'''
SCRIPT = '''function total(items) {
  let sum = 0;
  for (const item of items) {
    sum += item.price * item.count;
  }
  return sum;
}
'''


@pytest.fixture
def source_folder(tmp_path):
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "shapes.py").write_text(MODULE)
    (root / "web").mkdir()
    (root / "web" / "total.js").write_text(SCRIPT)
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text(SCRIPT.replace("total", "vendored"))
    (root / "notes.txt").write_text("not code\n" * 10)
    return root


def test_holes_are_seeded(source_folder):
    assert cut_holes(source_folder, count=12, seed=4) == cut_holes(source_folder, count=12, seed=4)
    assert cut_holes(source_folder, count=12, seed=4) != cut_holes(source_folder, count=12, seed=5)


def test_holes_rebuild_their_file(source_folder):
    for hole in cut_holes(source_folder, count=15, seed=1):
        original = (source_folder / hole.path).read_text()
        assert hole.prefix + hole.middle + hole.suffix in original
        assert hole.middle.strip()
        cursor = original.index(hole.prefix + hole.middle + hole.suffix) + len(hole.prefix)
        line = original.count("\n", 0, cursor)
        character = cursor - (original.rfind("\n", 0, cursor) + 1)
        assert hole.id == f"{hole.path}:{line}:{character}:{hole.kind}"


def test_holes_use_all_kinds_and_skip_vendored_code(source_folder):
    holes = cut_holes(source_folder, count=15, seed=2)
    assert {hole.kind for hole in holes} == {"line", "block", "span"}
    assert all(not hole.path.startswith("node_modules") for hole in holes)
    assert {hole.language for hole in holes} <= {"python", "javascript"}


def test_line_holes_end_at_line_end(source_folder):
    for hole in cut_holes(source_folder, count=30, seed=3):
        if hole.kind == "line":
            assert "\n" not in hole.middle
            assert hole.suffix.startswith("\n") or hole.suffix == ""


def test_block_holes_start_under_a_header(source_folder):
    blocks = [hole for hole in cut_holes(source_folder, count=30, seed=3) if hole.kind == "block"]
    assert blocks
    for hole in blocks:
        header = hole.prefix.rstrip(" \t").rstrip("\n").split("\n")[-1]
        assert header.rstrip().endswith((":", "{"))


def test_save_and_load_round_trip(source_folder, tmp_path):
    holes = cut_holes(source_folder, count=6, seed=0)
    path = tmp_path / "sample.jsonl"
    save_holes(holes, path)
    tasks = load_holes(path)
    assert [task.task_id for task in tasks] == [f"holes-sample/{hole.id}" for hole in holes]
    assert [task.reference for task in tasks] == [hole.middle for hole in holes]
    assert all(task.judged_by == "match" for task in tasks)


def test_digest_filters(source_folder, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"text": MODULE}) + "\n")
    digests = corpus_digests(corpus)
    skipped = cut_holes(source_folder, count=6, seed=0, skip_digests=digests)
    kept = cut_holes(source_folder, count=6, seed=0, only_digests=digests)
    assert {hole.path for hole in skipped} == {"web/total.js"}
    assert {hole.path for hole in kept} == {"pkg/shapes.py"}


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no source files"):
        cut_holes(tmp_path, count=3, seed=0)

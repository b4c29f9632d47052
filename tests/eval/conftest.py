import gzip
import json

import pytest

PROBLEMS = [
    {"task_id": "Tiny/0/L1", "entry_point": "double", "prompt": "def double(x):\n",
     "canonical_solution": "    return 2 * x\n", "suffix": "",
     "test": "def check(candidate):\n    assert candidate(3) == 6\n    assert candidate(-1) == -2\n"},
    {"task_id": "Tiny/1/L2", "entry_point": "count_vowels", "prompt": "def count_vowels(text):\n    total = 0\n",
     "canonical_solution": "    for char in text:\n        total += char in 'aeiou'\n", "suffix": "    return total\n",
     "test": "def check(candidate):\n    assert candidate('banana') == 3\n"},
    {"task_id": "Tiny/2/L1", "entry_point": "spin", "prompt": "def spin(n):\n    while n > 0:\n",
     "canonical_solution": "        n -= 1\n", "suffix": "    return n\n",
     "test": "def check(candidate):\n    assert candidate(5) == 0\n"},
]
ARENA_ROWS = [
    {"id": 0, "prefix": "def area(r):\n    return 3.14 * ", "suffix": "\n", "model_a": "m1", "model_b": "m2",
     "completion_a": "r * r", "completion_b": "r * r)", "acceptedIndex": 0},
    {"id": 1, "prefix": "const total = items.reduce(", "suffix": ");\n", "model_a": "m1", "model_b": "m2",
     "completion_a": "(a, b) => a + b, 0", "completion_b": "(a, b) => a + b, 0);", "acceptedIndex": 1},
]


def write_jsonl_gz(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


@pytest.fixture
def tiny_data(tmp_path):
    """A data folder in the benchmark layout with three small infilling problems and two arena rows."""
    root = tmp_path / "data"
    write_jsonl_gz(root / "human-eval-infilling" / "HumanEval-SingleLineInfilling.jsonl.gz", PROBLEMS)
    arena = root / "copilot-arena" / "copilot_arena_examples_v1.jsonl"
    arena.parent.mkdir(parents=True)
    arena.write_text("".join(json.dumps(row) + "\n" for row in ARENA_ROWS))
    return root

"""A run that starts from an exported model continues its example stream instead of replaying it."""

import json

import torch

from fim_server.training import train


def test_continued_run_draws_new_examples(tiny_corpus, train_tiny, tmp_path, monkeypatch):
    seeds = []
    original = train.ExampleSampler

    def recording_sampler(texts, tokenizer, config, seed, **kwargs):
        seeds.append(seed)
        return original(texts, tokenizer, config, seed, **kwargs)

    monkeypatch.setattr(train, "ExampleSampler", recording_sampler)
    first, export = tmp_path / "first", tmp_path / "export"
    assert train_tiny(tiny_corpus, first, "--seed", "7", "--max-steps", "2", "--export", str(export)) == 0
    assert json.loads((export / "training.json").read_text())["step"] == 2
    assert not (tmp_path / "export.partial").exists()  # the export is written aside, then moved in
    training_seeds = seeds[::2]  # each run builds a training sampler, then a held-out one
    assert training_seeds == [7]

    second = tmp_path / "second"
    assert train_tiny(tiny_corpus, second, "--seed", "7", "--max-steps", "2", "--init-from", str(export)) == 0
    assert seeds[::2] == [7, 9], "the continued run must not replay the first run's examples"
    # Resuming the continued run from its checkpoint keeps counting from the total step.
    assert train_tiny(tiny_corpus, second, "--seed", "7", "--max-steps", "3") == 0
    assert seeds[::2] == [7, 9, 11]


def test_resumed_run_keeps_init_origin(tiny_corpus, train_tiny, tmp_path):
    first, export, second = tmp_path / "first", tmp_path / "export", tmp_path / "second"
    assert train_tiny(tiny_corpus, first, "--max-steps", "2", "--export", str(export)) == 0
    assert json.loads((export / "training.json").read_text())["init_from"] is None
    assert train_tiny(tiny_corpus, second, "--max-steps", "2", "--init-from", str(export)) == 0
    # The resumed invocation has no --init-from; its checkpoint and exports still name the first weights.
    assert train_tiny(tiny_corpus, second, "--max-steps", "3") == 0
    state = torch.load(second / "checkpoint.pt", weights_only=False)
    assert state["step"] == 3
    assert state["init_from"] == str(export)

"""The autoregressive objective: PSM batches, loss targets and a few real training steps."""

import json
import random

import pytest
import torch

from fim_server.engine.loading import load_engine
from fim_server.model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, FimAutoregressiveConfig
from fim_server.training import train
from fim_server.training.autoregressive import collate_autoregressive
from fim_server.training.examples import FimExample

CONFIG = FimAutoregressiveConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64)


def test_collate_lays_out_prefix_suffix_middle():
    example = FimExample("line", prefix=[10, 11], middle=[20, 21], suffix=[30])
    unconditional = FimExample("unconditional", prefix=[], middle=[40, 41, 42], suffix=[])
    batch = collate_autoregressive([example, unconditional], CONFIG, random.Random(0))
    assert batch.input_ids[0].tolist() == [10, 11, 30, 0, 20, 21, 1]
    assert batch.segment_ids[0].tolist() == [PREFIX, PREFIX, SUFFIX, CANVAS, CANVAS, CANVAS, CANVAS]
    assert batch.position_ids[0].tolist() == list(range(7))
    assert batch.targets[0, :6].tolist() == [11, 30, 0, 20, 21, 1]
    # No loss on the prefix-to-suffix and suffix-to-sentinel boundaries, nor after the last token.
    assert batch.weights[0].tolist() == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert batch.input_ids[1].tolist() == [0, 40, 41, 42, 2, 2, 2]
    assert batch.segment_ids[1, 4:].tolist() == [SLOT_PAD] * 3
    assert batch.weights[1].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def read_history(run) -> list[dict]:
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]


def test_training_steps_export_and_resume(tiny_corpus, train_tiny, tmp_path):
    run, export = tmp_path / "run", tmp_path / "export"
    assert train_tiny(tiny_corpus, run, "--objective", "autoregressive", "--max-steps", "2", "--export", str(export)) == 0
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["objective"] == "autoregressive"
    assert state["step"] == 2
    assert "attention_layout" not in state["config"]
    history = read_history(run)
    assert [record["step"] for record in history] == [2]
    assert history[0]["tokens"] == state["tokens_seen"] > 0
    assert 0 < history[0]["valid_loss"] < 10
    engine = load_engine(export, dtype="float32")
    assert engine.kind == "autoregressive"

    assert train_tiny(tiny_corpus, run, "--max-steps", "4") == 0  # resumes without --objective
    assert [record["step"] for record in read_history(run)] == [2, 4]
    with pytest.raises(SystemExit):
        train_tiny(tiny_corpus, run, "--objective", "diffusion", "--max-steps", "6")


def test_checkpoint_without_objective_resumes_as_diffusion(tiny_corpus, train_tiny, tmp_path):
    run = tmp_path / "run"
    assert train_tiny(tiny_corpus, run, "--max-steps", "1", "--layout", "bidirectional") == 0
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["objective"] == "diffusion"
    assert state["config"]["attention_layout"] == "bidirectional"
    del state["objective"]  # checkpoints written before the objective switch
    torch.save(state, run / "checkpoint.pt")
    assert train_tiny(tiny_corpus, run, "--max-steps", "2") == 0
    resumed = torch.load(run / "checkpoint.pt", weights_only=False)
    assert resumed["step"] == 2
    assert resumed["objective"] == "diffusion"
    assert resumed["config"]["attention_layout"] == "bidirectional"


def test_bidirectional_layout_gets_no_prefix_loss():
    from fim_server.model import FimDiffusionConfig, FimDiffusionModel
    from fim_server.training.examples import collate

    shape = dict(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                 max_prefix_tokens=8, max_suffix_tokens=4, max_canvas_tokens=6)
    example = FimExample("line", prefix=[10, 11, 12, 13], middle=[20, 21], suffix=[30, 31])
    for layout, expect_equal in (("bidirectional", True), ("cached", False)):
        torch.manual_seed(0)
        model = FimDiffusionModel(FimDiffusionConfig(attention_layout=layout, **shape))
        batch = collate([example], model.config, random.Random(0))
        combined = train.diffusion_with_prefix_lm_loss(model, batch)
        plain = train.masked_diffusion_loss(model, batch)
        assert torch.equal(combined, plain) == expect_equal, layout

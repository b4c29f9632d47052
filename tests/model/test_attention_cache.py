"""The cached attention layout: context keys/values never depend on the canvas."""

import pytest
import torch

from fim_server.model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, FimDiffusionConfig, FimDiffusionModel
from fim_server.model.modeling import attention_allowed


def tiny_model(layout: str = "cached") -> FimDiffusionModel:
    torch.manual_seed(0)
    config = FimDiffusionConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, attention_layout=layout)
    return FimDiffusionModel(config).eval()


def layout_tensors(s: int, p: int, c: int, offset: int = 256):
    segments = torch.tensor([[SUFFIX] * s + [PREFIX] * p + [CANVAS] * c])
    positions = torch.cat([offset + torch.arange(s), torch.arange(p), p + torch.arange(c)])[None]
    return segments, positions


def test_mask_rules_for_each_segment():
    segments, positions = layout_tensors(2, 3, 2)
    allowed = attention_allowed(segments, positions, segments, positions, "cached")[0, 0]
    suffix_row, first_prefix, last_prefix, canvas_row = allowed[0], allowed[2], allowed[4], allowed[5]
    assert suffix_row.tolist() == [True, True, False, False, False, False, False]
    assert first_prefix.tolist() == [True, True, True, False, False, False, False]
    assert last_prefix.tolist() == [True, True, True, True, True, False, False]
    assert canvas_row.all()


def test_slot_padding_is_never_a_key():
    segments = torch.tensor([[SUFFIX, SLOT_PAD, PREFIX, CANVAS]])
    positions = torch.tensor([[256, 0, 0, 1]])
    allowed = attention_allowed(segments, positions, segments, positions, "cached")[0, 0]
    assert not allowed[[0, 2, 3], 1].any()
    assert allowed[1].all()  # a padding row sees everything, so it never becomes NaN


def test_cached_logits_match_uncached():
    model = tiny_model()
    s, p, c = 5, 9, 6
    segments, positions = layout_tensors(s, p, c)
    ids = torch.randint(3, 64, (1, s + p + c))
    with torch.no_grad():
        full = model(ids, segments, positions)[:, s + p :]
    cache = model.encode_context(ids[:, : s + p], segments[:, : s + p], positions[:, : s + p])
    cached = model.score_canvas(cache, ids[:, s + p :], positions[:, s + p :])
    torch.testing.assert_close(cached, full, atol=1e-5, rtol=1e-5)


def test_appended_prefix_reuses_cache_exactly():
    model = tiny_model()
    s, p, c = 4, 10, 5
    segments, positions = layout_tensors(s, p, c)
    ids = torch.randint(3, 64, (1, s + p + c))
    split = s + p - 3  # the last three prefix tokens arrive as typing
    cache = model.encode_context(ids[:, :split], segments[:, :split], positions[:, :split])
    cache = model.encode_context(ids[:, split : s + p], segments[:, split : s + p], positions[:, split : s + p], cache)
    fresh = model.encode_context(ids[:, : s + p], segments[:, : s + p], positions[:, : s + p])
    for grown, direct in zip(cache.layers, fresh.layers):
        torch.testing.assert_close(grown.key, direct.key, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(grown.value, direct.value, atol=1e-5, rtol=1e-5)
    truncated = cache.truncate(split)
    torch.testing.assert_close(truncated.layers[0].key, fresh.layers[0].key[:, :, :split])


def test_bidirectional_layout_rejects_cache():
    model = tiny_model("bidirectional")
    segments, positions = layout_tensors(2, 2, 0)
    with pytest.raises(ValueError, match="bidirectional"):
        model.encode_context(torch.tensor([[5, 6, 7, 8]]), segments, positions)


def test_bundled_model_cache_is_exact(engine):
    tokenizer, model = engine.tokenizer, engine.model
    prefix = tokenizer.encode("def add(a, b):\n    return ")
    suffix = tokenizer.encode("\n\nprint(add(1, 2))\n")
    canvas = [model.config.mask_token_id] * 8
    s, p = len(suffix), len(prefix)
    segments, positions = layout_tensors(s, p, len(canvas), model.config.suffix_position_offset)
    ids = torch.tensor([suffix + prefix + canvas])
    with torch.no_grad():
        full = model(ids, segments, positions)[:, s + p :]
    cache = model.encode_context(ids[:, : s + p], segments[:, : s + p], positions[:, : s + p])
    cached = model.score_canvas(cache, ids[:, s + p :], positions[:, s + p :])
    torch.testing.assert_close(cached, full, atol=1e-4, rtol=1e-4)


def test_save_and_load_with_auto_classes(tmp_path):
    from transformers import AutoConfig, AutoModel

    model = tiny_model()
    model.save_pretrained(str(tmp_path))
    assert (tmp_path / "model.safetensors").exists()
    assert AutoConfig.from_pretrained(str(tmp_path)).model_type == "fim-diffusion"
    loaded = AutoModel.from_pretrained(str(tmp_path)).eval()
    segments, positions = layout_tensors(2, 3, 2)
    ids = torch.randint(3, 64, (1, 7))
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, segments, positions), model(ids, segments, positions))

"""The causal PSM model: key/value caching is exact and attention never looks ahead."""

import torch
from transformers import AutoModel

from fim_server.model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, FimAutoregressiveConfig, FimAutoregressiveModel


def tiny_model() -> FimAutoregressiveModel:
    torch.manual_seed(0)
    config = FimAutoregressiveConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64)
    return FimAutoregressiveModel(config).eval()


def psm_tensors(p: int, s: int, m: int):
    """Return (ids, segments, positions), each (1, p + s + 1 + m): prefix, suffix, sentinel, middle."""
    torch.manual_seed(1)
    ids = torch.randint(3, 64, (1, p + s + 1 + m))
    ids[0, p + s] = 0  # the middle sentinel
    segments = torch.tensor([[PREFIX] * p + [SUFFIX] * s + [CANVAS] * (1 + m)])
    positions = torch.arange(p + s + 1 + m)[None]
    return ids, segments, positions


def test_prefill_and_decode_match_full_forward():
    model = tiny_model()
    p, s, m = 7, 5, 6
    ids, segments, positions = psm_tensors(p, s, m)
    with torch.no_grad():
        full = model(ids, segments, positions)  # (1, L, V)
    prompt = p + s + 1
    logits, cache = model.extend(ids[:, :prompt], segments[:, :prompt], positions[:, :prompt])
    torch.testing.assert_close(logits, full[:, prompt - 1], atol=1e-5, rtol=1e-5)
    for index in range(prompt, prompt + m):
        logits, cache = model.extend(ids[:, index : index + 1], segments[:, index : index + 1],
                                     positions[:, index : index + 1], cache)
        torch.testing.assert_close(logits, full[:, index], atol=1e-5, rtol=1e-5)
    assert cache.length == prompt + m


def test_grown_and_truncated_prefix_cache_is_exact():
    model = tiny_model()
    ids, segments, positions = psm_tensors(10, 0, 0)
    ids, segments, positions = ids[:, :10], segments[:, :10], positions[:, :10]
    _, fresh = model.extend(ids, segments, positions, logits=False)
    _, first = model.extend(ids[:, :6], segments[:, :6], positions[:, :6], logits=False)
    _, grown = model.extend(ids[:, 6:], segments[:, 6:], positions[:, 6:], first, logits=False)
    for a, b in zip(grown.layers, fresh.layers):
        torch.testing.assert_close(a.key, b.key, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(a.value, b.value, atol=1e-5, rtol=1e-5)
    cut = grown.truncate(4)
    torch.testing.assert_close(cut.layers[1].value, fresh.layers[1].value[:, :, :4], atol=1e-5, rtol=1e-5)
    assert first.length == 6  # extending returned a new cache and left the old one intact


def test_later_tokens_never_change_earlier_logits():
    model = tiny_model()
    ids, segments, positions = psm_tensors(6, 4, 3)
    changed = ids.clone()
    changed[0, 8:] = 5
    with torch.no_grad():
        before = model(ids, segments, positions)
        after = model(changed, segments, positions)
    torch.testing.assert_close(before[:, :8], after[:, :8])
    assert not torch.allclose(before[:, 8:], after[:, 8:])


def test_right_padding_leaves_logits_unchanged():
    model = tiny_model()
    ids, segments, positions = psm_tensors(5, 3, 2)
    length = ids.shape[1]
    padded_ids = torch.cat([ids, torch.full((1, 4), 2)], dim=1)
    padded_segments = torch.cat([segments, torch.full((1, 4), SLOT_PAD)], dim=1)
    padded_positions = torch.cat([positions, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    with torch.no_grad():
        alone = model(ids, segments, positions)
        padded = model(padded_ids, padded_segments, padded_positions)
    torch.testing.assert_close(padded[:, :length], alone, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(padded).all()


def test_save_and_load_through_auto_classes(tmp_path):
    model = tiny_model()
    model.save_pretrained(str(tmp_path), safe_serialization=True)
    loaded = AutoModel.from_pretrained(str(tmp_path)).eval()
    assert isinstance(loaded, FimAutoregressiveModel)
    assert (tmp_path / "model.safetensors").is_file()
    ids, segments, positions = psm_tensors(4, 2, 2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, segments, positions), model(ids, segments, positions))


def test_same_seed_gives_diffusion_weights():
    from fim_server.model import FimDiffusionConfig, FimDiffusionModel

    shape = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    torch.manual_seed(7)
    autoregressive = FimAutoregressiveModel(FimAutoregressiveConfig(**shape)).state_dict()
    torch.manual_seed(7)
    diffusion = FimDiffusionModel(FimDiffusionConfig(**shape)).state_dict()
    assert autoregressive.keys() == diffusion.keys()
    for name, tensor in autoregressive.items():
        assert torch.equal(tensor, diffusion[name]), name

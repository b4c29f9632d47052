"""Training losses of the diffusion objective on a tiny model."""

import random

import torch

from fim_server.model import FimDiffusionConfig, FimDiffusionModel
from fim_server.training.examples import FimExample, collate
from fim_server.training.train import PREFIX_LM_WEIGHT, diffusion_with_prefix_lm_loss, masked_diffusion_loss


def test_prefix_lm_term_is_next_token_cross_entropy():
    torch.manual_seed(0)
    config = FimDiffusionConfig(vocab_size=32, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=64, max_prefix_tokens=6, max_suffix_tokens=4, max_canvas_tokens=4)
    model = FimDiffusionModel(config)
    batch = collate([FimExample("line", [5, 6, 7], [8, 9], [10])], config, random.Random(0))
    with torch.no_grad():
        combined = diffusion_with_prefix_lm_loss(model, batch)
        diffusion = masked_diffusion_loss(model, batch)
        logits = model(batch.input_ids, batch.segment_ids, batch.position_ids)[0]  # (L, V)
    prefix_start = config.max_suffix_tokens
    positions = [prefix_start, prefix_start + 1, prefix_start + 2]
    next_tokens = torch.tensor([6, 7, 8])  # the last prefix token predicts the first middle token
    expected = torch.nn.functional.cross_entropy(logits[positions], next_tokens)
    torch.testing.assert_close(combined - diffusion, PREFIX_LM_WEIGHT * expected, atol=1e-5, rtol=1e-5)
